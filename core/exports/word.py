"""Round trip to Word: the script back as a .docx, with a storyboard table per video, and reading it back.

The writer gets their script in the format they wrote it in: the course title, then per video its header and
narration (the shots', in order), followed by a table (shot · frame, thumbnail, scene text, prompt, and the shot's
directions on its first frame's row). Arabic paragraphs are marked right-to-left (`w:bidi`, `w:rtl`) so Word
lays them out as typed. The first cell carries the frame's id
and version (`#123 v4`), so `apply_docx_edits` can bring a writer's edited scene texts back frame by frame,
refusing (all or nothing) when the studio changed a frame after the document was exported.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt
from docx.text.paragraph import Paragraph
from PIL import Image
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.exports.data import ScriptSnapshot, collect_script
from core.exports.pdf import has_arabic
from core.exports.files import writing

READ_HEADERS = ("Shot · frame", "Frame", "Scene text", "Prompt")  # what a table must start with to be read back
HEADERS = (*READ_HEADERS, "Directions")
THUMB_WIDTH_IN = 1.6
_REF = re.compile(r"#(\d+)(?:\s+v(\d+))?")


@dataclass(frozen=True)
class DocxFrame:
    """One storyboard row read back from a .docx."""

    frame_id: int
    scene_text: str
    prompt: str
    version: int | None = None  # the frame's lock_version when exported


def write_storyboard_docx(snapshot: ScriptSnapshot, out: Path) -> Path:
    doc = Document()
    _rtl_aware(doc.add_heading(snapshot.title, level=0))
    if snapshot.preface.strip():
        _rtl_aware(doc.add_paragraph(snapshot.preface))
    for video in snapshot.videos:
        _rtl_aware(doc.add_heading(video.header_text or f"{video.number}. {video.title}", level=1))
        # What is said, shot by shot (the narration the captions speak); directions go to the table's own column.
        for text in [s.narration for s in video.shots] if video.shots else [video.body]:
            for line in text.splitlines():
                if line.strip():
                    _rtl_aware(doc.add_paragraph(line))
        frames = [(shot, frame) for shot in video.shots for frame in shot.frames]
        if not frames:
            doc.add_paragraph("(no storyboard yet)")
            continue
        table = doc.add_table(rows=1, cols=len(HEADERS))
        table.style = "Table Grid"
        for cell, title in zip(table.rows[0].cells, HEADERS):
            cell.text = ""
            cell.paragraphs[0].add_run(title).bold = True
        for shot, frame in frames:
            cells = table.add_row().cells
            cells[0].text = f"{shot.position}.{frame.position} #{frame.frame_id} v{frame.lock_version}"
            if frame.image_path is not None:
                cells[1].paragraphs[0].add_run().add_picture(io.BytesIO(_thumbnail(frame.image_path)),
                                                             width=Inches(THUMB_WIDTH_IN))
            else:
                cells[1].text = "(no image yet)"
            cells[2].text = frame.scene_text
            _rtl_aware(cells[2].paragraphs[0])
            cells[3].text = frame.prompt
            for p in cells[3].paragraphs:
                for run in p.runs:
                    run.font.size = Pt(8)
            if frame is shot.frames[0] and shot.directions:  # once per shot, on its first frame's row
                cells[4].text = "\n".join(shot.directions)
                for p in cells[4].paragraphs:
                    _rtl_aware(p)
    with writing(out) as tmp:
        doc.save(str(tmp))
    return out


def read_storyboard_docx(data: bytes) -> list[DocxFrame]:
    """The storyboard rows of a .docx this module wrote (possibly edited by a writer since)."""
    try:
        doc = Document(io.BytesIO(data))
    except Exception as err:  # noqa: BLE001 - python-docx raises several unrelated types for a bad file
        raise ValidationError(f"This is not a Word storyboard the studio can read ({err})") from None
    rows: list[DocxFrame] = []
    for table in doc.tables:
        header = tuple(c.text.strip() for c in table.rows[0].cells) if table.rows else ()
        if header[: len(READ_HEADERS)] != READ_HEADERS:  # tables exported before the Directions column too
            continue
        for row in table.rows[1:]:
            cells = row.cells
            m = _REF.search(cells[0].text)
            if m:
                version = int(m.group(2)) if m.group(2) else None
                rows.append(DocxFrame(int(m.group(1)), cells[2].text.strip(), cells[3].text.strip(), version))
    return rows


def _thumbnail(path: Path) -> bytes:
    with Image.open(path) as src:
        img = src.convert("RGB")
        img.thumbnail((480, 270))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
        return buf.getvalue()


def _rtl_aware(paragraph: Paragraph) -> Paragraph:
    """Mark a paragraph holding Arabic as right-to-left (paragraph direction and every run)."""
    if not has_arabic(paragraph.text):
        return paragraph
    ppr = paragraph._p.get_or_add_pPr()
    if ppr.find(qn("w:bidi")) is None:
        ppr.insert(0, OxmlElement("w:bidi"))
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for run in paragraph.runs:
        rpr = run._r.get_or_add_rPr()
        if rpr.find(qn("w:rtl")) is None:
            rpr.append(OxmlElement("w:rtl"))
    return paragraph


def changed_scene_texts(snapshot: ScriptSnapshot, rows: list[DocxFrame]) -> dict[int, tuple[str, str]]:
    """Frames whose scene text the writer changed in Word: {frame id: (studio text, Word text)}.

    Applying them goes through the storyboard grid (`core.grid.apply_grid_edits`), so locks and versions hold.
    Rows naming frames that are no longer in the storyboard are ignored.
    """
    current = {f.frame_id: f.scene_text for v in snapshot.videos for s in v.shots for f in s.frames}
    return {r.frame_id: (current[r.frame_id], r.scene_text) for r in rows
            if r.frame_id in current and r.scene_text != current[r.frame_id].strip()}


def apply_docx_edits(session: Session, file_id: int, data: bytes, *, data_dir: Path, actor: str) -> list[int]:
    """Bring the writer's scene-text edits from a .docx back into the storyboards; returns the changed frame ids.

    Goes through the storyboard grid, so a locked frame refuses (`GateError`) and a frame changed in the studio
    since the export is a `ConflictError` (the document's version is the expected one). All or nothing.
    """
    from core.grid import EditSceneText, apply_grid_edits

    snapshot = collect_script(session, file_id, data_dir=data_dir)
    rows = read_storyboard_docx(data)
    changed = changed_scene_texts(snapshot, rows)
    frames = {f.frame_id: f for v in snapshot.videos for s in v.shots for f in s.frames}
    versions = {r.frame_id: r.version for r in rows}
    by_board: dict[int, list[EditSceneText]] = {}
    for frame_id, (_, text) in changed.items():
        frame = frames[frame_id]
        expected = versions.get(frame_id) or frame.lock_version
        by_board.setdefault(frame.storyboard_id, []).append(EditSceneText(frame_id, text, expected))
    with session.begin_nested():
        for board_id, edits in by_board.items():
            apply_grid_edits(session, board_id, edits, actor=actor, cause="Word round trip")
    return sorted(changed)
