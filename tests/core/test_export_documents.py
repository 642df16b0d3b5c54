"""PDF storyboard, CSV / XLSX shot list and the Word round trip, each opened back and read."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from core import review
from core.exports.data import collect_script, export_dir
from core.exports.runner import run_export
from core.exports.word import changed_scene_texts, read_storyboard_docx
from core.runtime import Runtime
from tests.core.review_factory import ARABIC_SCENE, make_script


@pytest.fixture
def script(sqlite_runtime: Runtime):
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, videos=2, shots=2, frames=2, clip_shots=1)
        review.set_status(session, "frame", ids.frame_ids[1], "in_review", actor="ed")
        review.set_status(session, "frame", ids.frame_ids[1], "needs_changes", actor="client",
                          comment="Make the board green")
        session.commit()
    return sqlite_runtime, ids


def test_pdf_has_a_cover_and_a_page_per_shot_with_arabic_text(script) -> None:
    rt, ids = script
    with rt.sessions() as session:
        [path] = run_export(session, "pdf", settings=rt.settings, file_id=ids.file_id)
    assert path == export_dir(rt.data_dir, ids.file_id) / "storyboard.pdf"
    reader = PdfReader(path)
    assert len(reader.pages) == 1 + 2 * 2  # cover + one page per shot of each video
    cover = reader.pages[0].extract_text()
    assert "Design basics" in cover and "دورة التصميم" in cover and "Approved by" in cover
    first_shot = reader.pages[1].extract_text()
    # Shaped Arabic extracts back in reading order: the words of the scene text, in the writer's order.
    assert ARABIC_SCENE in first_shot
    assert "Shot 1 of 2" in first_shot and "Prompt\nA teacher at a whiteboard, v1 s1 f1" in first_shot
    assert "Needs changes" in first_shot and "Make the board green" in first_shot
    assert "client" in first_shot and "الإضاءة جميلة" in first_shot  # the comment thread
    assert len(reader.pages[1].images) == 2  # both frames' images are on the page
    assert "Shot 2 of 2" in reader.pages[4].extract_text()


def test_pdf_of_one_video_without_images(sqlite_runtime: Runtime) -> None:
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, videos=2, shots=1, frames=1, with_images=False,
                          clip_shots=0)
        [path] = run_export(session, "pdf", settings=sqlite_runtime.settings, video_id=ids.video_ids[1],
                            out=sqlite_runtime.data_dir / "one.pdf")
    reader = PdfReader(path)
    assert len(reader.pages) == 2
    text = reader.pages[1].extract_text()
    assert "No image yet" in text and "الفيديو" in text and "v2 s1 f1" in text


def test_shot_list_csv_and_xlsx(script) -> None:
    rt, ids = script
    with rt.sessions() as session:
        paths = run_export(session, "shotlist", settings=rt.settings, file_id=ids.file_id)
    by_ext = {p.suffix: p for p in paths}
    assert set(by_ext) == {".csv", ".xlsx"}
    rows = list(csv.DictReader(io.StringIO(by_ext[".csv"].read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 8
    first = rows[0]
    assert (first["video"], first["shot"], first["frame"]) == ("1", "1", "1")
    assert first["scene text"] == ARABIC_SCENE
    assert first["selected prompt"] == "A teacher at a whiteboard, v1 s1 f1"
    assert rows[1]["frame status"] == "needs_changes"
    assert Path(first["image file"]).is_file() and first["image file"].endswith(".png")
    assert Path(first["clip file"]).is_file() and rows[2]["clip file"] == ""  # shot 2 has no clip

    sheet = load_workbook(by_ext[".xlsx"]).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:4] == ("video", "video title", "shot", "frame")
    assert len(values) == 9 and values[1][4] == ARABIC_SCENE
    assert sheet.cell(2, 5).alignment.readingOrder == 2  # Arabic cells read right to left


def test_docx_round_trip(script) -> None:
    rt, ids = script
    with rt.sessions() as session:
        [path] = run_export(session, "docx", settings=rt.settings, file_id=ids.file_id)
        snapshot = collect_script(session, ids.file_id, data_dir=rt.data_dir)
    doc = Document(str(path))
    assert doc.paragraphs[0].text == "دورة التصميم — Design basics"
    assert len(doc.tables) == 2
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Shot · frame", "Frame", "Scene text", "Prompt", "Directions"]
    assert len(table.rows) == 1 + 4
    assert len(doc.inline_shapes) == 8  # a thumbnail per frame
    arabic_cell = table.rows[1].cells[2].paragraphs[0]
    assert arabic_cell.text == ARABIC_SCENE
    assert arabic_cell._p.pPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}bidi") is not None

    # A writer edits a scene text in Word; the studio reads the change back against the right frame.
    table.rows[2].cells[2].text = "The teacher points at a chart"
    edited = io.BytesIO()
    doc.save(edited)
    rows = read_storyboard_docx(edited.getvalue())
    assert [r.frame_id for r in rows] == ids.frame_ids
    assert changed_scene_texts(snapshot, rows) == {ids.frame_ids[1]: ("Scene 1.2", "The teacher points at a chart")}


def _edited_docx(path: Path, row: int, text: str) -> bytes:
    doc = Document(str(path))
    doc.tables[0].rows[row].cells[2].text = text
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_docx_edits_come_back_through_the_grid(runtime: Runtime) -> None:
    from core.errors import ConflictError, GateError
    from core.exports.word import apply_docx_edits
    from core.grid import EditSceneText, apply_grid_edits
    from core.models import Frame

    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=1, frames=2, clip_shots=0)
        session.commit()
        [path] = run_export(session, "docx", settings=runtime.settings, file_id=ids.file_id)
        data = _edited_docx(path, 2, "The teacher points at a chart")
        assert apply_docx_edits(session, ids.file_id, data, data_dir=runtime.data_dir, actor="writer") == [
            ids.frame_ids[1]]
        session.commit()
        assert session.get(Frame, ids.frame_ids[1]).scene_text == "The teacher points at a chart"

        # The same (now stale) document again, after someone edited frame 1 in the studio: refused, nothing lost.
        frame = session.get(Frame, ids.frame_ids[0])
        apply_grid_edits(session, frame.shot.storyboard_id,
                         [EditSceneText(frame.id, "Studio edit", frame.lock_version)], actor="ed")
        session.commit()
        stale = _edited_docx(path, 1, "Writer edit")
        with pytest.raises(ConflictError):
            apply_docx_edits(session, ids.file_id, stale, data_dir=runtime.data_dir, actor="writer")
        session.commit()
        assert session.get(Frame, ids.frame_ids[0]).scene_text == "Studio edit"

        # Fresh export, but the frame is locked: the gate refuses.
        [path] = run_export(session, "docx", settings=runtime.settings, file_id=ids.file_id)
        for status in ("in_review", "approved", "locked"):
            review.set_status(session, "frame", ids.frame_ids[0], status, actor="ed")
        session.commit()
        with pytest.raises(GateError):
            apply_docx_edits(session, ids.file_id, _edited_docx(path, 1, "Writer edit"),
                             data_dir=runtime.data_dir, actor="writer")
