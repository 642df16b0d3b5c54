"""The one read model (`core.board`): every reader of a storyboard — the studio's board, the exports, the API and
`python -m core show` — reads it in the same few queries whatever the board's size, and reports the same
staleness, narration and directions."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from docx import Document
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core import board as core_board
from core.api import create_app
from core.api.views import storyboard_out
from core.board import Freshness, clip_freshness, image_freshness
from core.db import session_scope
from core.exports.captions import caption_cues, shot_timings, to_srt
from core.exports.data import collect_script
from core.exports.runner import run_export
from core.exports.shotlist import shot_list_csv, shot_list_rows
from core.exports.timeline import build_otio
from core.grid import EditSceneText, apply_grid_edits
from core.jobs import Worker, request_image
from core.library import ingest_file, storyboard_json
from core.models import Asset, CastMember, Frame, Job, PromptVersion, Shot, ShotCast, Storyboard
from core.prompts import OfflineRefiner, build_request, frames_in_scope, prompt_staleness, refine_frames
from core.prompts.context import input_snapshot
from core.prompts.providers import current_template_version
from core.runtime import Runtime
from tests.api.conftest import arabic_script
from tests.core.review_factory import ARABIC_SCENE, ScriptIds, make_script

ROOT = Path(__file__).resolve().parents[2]
DIRECTION_AR = "لقطة قريبة: يدا المدرب على لوحة المفاتيح"
DIRECTION_EN = "[Visual: screen recording, zoom on the terminal]"


@contextmanager
def counted(rt: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(rt.engine, "before_cursor_execute", record)


def _script(rt: Runtime, *, shots: int) -> ScriptIds:
    """A script whose video has `shots` × 2 frames, prompts, images, one clip, a comment and cast on shot 1."""
    with session_scope(rt.sessions) as s:
        ids = make_script(s, rt.data_dir, shots=shots, frames=2)
        presenter = CastMember(source_file_id=ids.file_id, name="Presenter Huda", kind="presenter")
        guest = CastMember(source_file_id=ids.file_id, name="Guest Omar", kind="character")
        s.add_all([presenter, guest])
        s.flush()
        s.add(ShotCast(shot_id=ids.shot_ids[0], member_id=guest.id))
        for sid in ids.shot_ids:
            s.get(Shot, sid).directions = [DIRECTION_AR, DIRECTION_EN]  # type: ignore[union-attr]
    return ids


def test_every_reader_loads_a_board_in_the_same_few_queries_whatever_its_size(runtime: Runtime) -> None:
    small, big = _script(runtime, shots=2), _script(runtime, shots=30)
    readers = {
        "core.board.load_script": lambda s, ids: core_board.load_script(s, ids.file_id),
        "core.board.load_board": lambda s, ids: core_board.load_board(
            s, s.scalar(select(Storyboard.id).where(Storyboard.video_id == ids.video_ids[0]))),
        "exports": lambda s, ids: collect_script(s, ids.file_id, data_dir=runtime.data_dir),
        "show": lambda s, ids: storyboard_json(s, ids.file_id),
        "api": lambda s, ids: storyboard_out(s, ids.file_id),
    }
    counts: dict[str, list[int]] = {}
    for name, read in readers.items():
        for ids in (small, big):
            with runtime.sessions() as s:
                if name == "core.board.load_board":  # the storyboard id lookup is not part of the read
                    board_id = s.scalar(select(Storyboard.id).where(Storyboard.video_id == ids.video_ids[0]))
                    with counted(runtime) as statements:
                        core_board.load_board(s, board_id)  # type: ignore[arg-type]
                else:
                    with counted(runtime) as statements:
                        read(s, ids)
            counts.setdefault(name, []).append(len(statements))
    # Header + grid; the exports also read the review comments.
    assert counts == {"core.board.load_script": [2, 2], "core.board.load_board": [2, 2], "exports": [3, 3],
                      "show": [2, 2], "api": [2, 2]}, counts
    with runtime.sessions() as s:
        board = core_board.load_script(s, big.file_id).board_of(big.video_ids[0])
    assert board is not None and len(board.shots) == 30 and len(board.frames) == 60
    first = board.shots[0]
    assert first.cast == ("Guest Omar",) and not first.cast_is_default
    assert board.shots[1].cast == ("Presenter Huda",) and board.shots[1].cast_is_default
    assert first.directions == (DIRECTION_AR, DIRECTION_EN) and first.clip_id is not None


def _refined_with_image(rt: Runtime) -> tuple[int, list[int]]:
    """An ingested script (one video, 2 shots × 2 frames) with offline prompts and frame 1's image rendered."""
    with session_scope(rt.sessions) as s:
        file_id = ingest_file(s, arabic_script(videos=1, sentences=6), "course.docx", settings=rt.settings,
                              shots=2, frames=2).source_file_id
    with rt.sessions() as s:
        video_id = core_board.load_script(s, file_id).videos[0].id
        frame_ids = frames_in_scope(s, video_id=video_id)
    refine_frames(rt.sessions, frame_ids, OfflineRefiner(), concurrency=1)
    with session_scope(rt.sessions) as s:
        request_image(s, frame_ids[0], settings=rt.settings, provider="offline")
    Worker(rt).run(drain=True)
    return file_id, frame_ids


def _run_show(rt: Runtime, file_id: int, *extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))}
    env.update(DATABASE_URL=rt.settings.db_url, STUDIO_DATA_DIR=str(rt.data_dir), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "core", "show", "--file", str(file_id), *extra], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _show(rt: Runtime, file_id: int) -> dict[str, object]:
    doc: dict[str, object] = json.loads(_run_show(rt, file_id))
    return doc


def _frames_of(doc: dict[str, object]) -> dict[int, dict[str, object]]:
    return {f["id"]: f for v in doc["videos"] for sh in v["shots"] for f in sh["frames"]}  # type: ignore[index,union-attr,attr-defined]


def test_api_show_exports_and_the_prompts_page_agree_on_a_frame_whose_scene_text_changed(runtime: Runtime) -> None:
    file_id, frame_ids = _refined_with_image(runtime)
    with session_scope(runtime.sessions) as s:
        frame = s.get(Frame, frame_ids[0])
        assert frame is not None
        board_id = s.get(Shot, frame.shot_id).storyboard_id  # type: ignore[union-attr]
        apply_grid_edits(s, board_id, [EditSceneText(frame.id, "The trainer points at the solar panel",
                                                     frame.lock_version)], actor="producer")

    with runtime.sessions() as s:
        expected = {fid: prompt_staleness(s, fid) for fid in frame_ids}  # the Prompts page's answer
        rows = {r["frame id"]: r for r in shot_list_rows(collect_script(s, file_id, data_dir=runtime.data_dir))}
    assert expected[frame_ids[0]].stale and "scene" in expected[frame_ids[0]].changed
    assert expected[frame_ids[1]].stale and expected[frame_ids[1]].changed == ("context",)  # its neighbour moved
    assert not expected[frame_ids[3]].stale

    with TestClient(create_app(runtime)) as client:
        api = _frames_of(client.get(f"/files/{file_id}/storyboard").json())
    show = _frames_of(_show(runtime, file_id))
    for fid, truth in expected.items():
        for reader in (api, show):
            assert reader[fid]["prompt_staleness"]["state"] == truth.state, (fid, reader[fid])  # type: ignore[index]
        assert rows[fid]["prompt state"].startswith("stale" if truth.stale else "up to date"), rows[fid]  # type: ignore[union-attr]
    # The image drawn from the now stale prompt is stale too, in every reader; frames without one have none.
    assert api[frame_ids[0]]["image_staleness"] == {"state": "stale", "reasons": ["its prompt is stale"]}
    assert show[frame_ids[0]]["image_staleness"] == api[frame_ids[0]]["image_staleness"]
    assert rows[frame_ids[0]]["image state"] == "stale: its prompt is stale"
    assert api[frame_ids[2]]["image_staleness"]["state"] == "missing"  # type: ignore[index]
    assert "scene text changed" in api[frame_ids[0]]["prompt_staleness"]["reasons"]  # type: ignore[index,operator]


def test_show_lists_each_shot_s_narration_and_directions_and_each_frame_s_text(runtime: Runtime) -> None:
    ids = _script(runtime, shots=2)
    doc = _show(runtime, ids.file_id)
    shots = doc["videos"][0]["shots"]  # type: ignore[index]
    assert [sh["directions"] for sh in shots] == [[DIRECTION_AR, DIRECTION_EN]] * 2
    assert shots[0]["narration"] and DIRECTION_EN not in shots[0]["narration"]
    assert [f["scene_text"] for f in shots[1]["frames"]][1] == "Scene 2.2"
    assert {"beat", "prompt", "prompt_staleness", "image_staleness"} <= set(shots[0]["frames"][0])
    assert shots[0]["cast"] == ["Guest Omar"] and shots[0]["clip_staleness"]["state"] == "fresh"
    listing = _run_show(runtime, ids.file_id, "--text").splitlines()
    shot_2 = listing.index(next(line for line in listing if line.startswith("  Shot 2 [draft]")))
    assert listing[shot_2 + 1].startswith("    Narration: Shot 2 narration. It has two sentences.")
    assert listing[shot_2 + 2:shot_2 + 4] == [f"    Direction: {DIRECTION_AR}", f"    Direction: {DIRECTION_EN}"]
    assert listing[shot_2 + 4].startswith("    Frame 1 [draft] prompt: stale")
    assert listing[shot_2 + 5] == f"      {ARABIC_SCENE}" and listing[shot_2 + 7] == "      Scene 2.2"
    # The JSON keeps every field it had before.
    assert {"id", "position", "summary", "narration", "status", "lock_version", "selected_clip_id"} <= set(shots[0])
    assert {"id", "position", "scene_text", "status", "lock_version", "selected_prompt_id",
            "selected_image_id"} <= set(shots[0]["frames"][0])


def test_directions_have_their_own_column_and_are_never_spoken(runtime: Runtime) -> None:
    ids = _script(runtime, shots=2)
    with runtime.sessions() as s:
        snapshot = collect_script(s, ids.file_id, data_dir=runtime.data_dir)
        [pdf] = run_export(s, "pdf", settings=runtime.settings, file_id=ids.file_id)
        [docx] = run_export(s, "docx", settings=runtime.settings, file_id=ids.file_id)
    video = snapshot.videos[0]

    table = list(csv.DictReader(io.StringIO(shot_list_csv(snapshot).decode("utf-8-sig"))))
    assert {row["directions"] for row in table} == {f"{DIRECTION_AR}\n{DIRECTION_EN}"}
    assert all(DIRECTION_EN not in row["narration"] and "لقطة قريبة" not in row["narration"] for row in table)

    srt = to_srt(caption_cues(video, wpm=130))
    assert srt and "Visual" not in srt and "لقطة قريبة" not in srt and "لوحة المفاتيح" not in srt
    # The animatic's timing is the narration's alone: directions add no second.
    silent = [sh.__class__(**{**sh.__dict__, "directions": ()}) for sh in video.shots]
    assert shot_timings(video.shots, wpm=130) == shot_timings(silent, wpm=130)

    timeline = build_otio(video, wpm=130)  # an editor's timeline carries them as the shot's metadata
    meta = [c.metadata["course_visual_studio"] for c in timeline.tracks[0]]
    assert meta and all(list(m["directions"]) == [DIRECTION_AR, DIRECTION_EN] for m in meta)

    text = "".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    assert "Directions" in text and "zoom on the terminal" in text

    doc = Document(str(docx))
    header = [c.text for c in doc.tables[0].rows[0].cells]
    assert header[-1] == "Directions"
    first_row = doc.tables[0].rows[1].cells
    assert first_row[-1].text == f"{DIRECTION_AR}\n{DIRECTION_EN}"
    assert doc.tables[0].rows[2].cells[-1].text == ""  # once per shot
    assert all(DIRECTION_EN not in p.text for p in doc.paragraphs)  # the narration paragraphs speak no direction


def _board(s: Session, ids: ScriptIds) -> core_board.Board:
    board = core_board.load_script(s, ids.file_id).board_of(ids.video_ids[0])
    assert board is not None
    return board


def test_an_image_from_another_prompt_and_a_clip_from_another_image_are_stale(runtime: Runtime) -> None:
    ids = _script(runtime, shots=1)
    with session_scope(runtime.sessions) as s:
        for fid in ids.frame_ids:  # prompts made from today's inputs: fresh
            version = s.get(PromptVersion, s.get(Frame, fid).selected_prompt_id)  # type: ignore[union-attr]
            version.inputs = input_snapshot(build_request(s, fid), provider="offline", model="",  # type: ignore[union-attr]
                                            template_version=current_template_version("offline") or "")
        # The clip of shot 1 started on frame 1's image and ended on frame 2's.
        clip = _board(s, ids).shots[0]
        asset = s.get(Asset, clip.clip_id)
        s.get(Job, asset.job_id).input_asset_ids = ids.image_asset_ids[:2]  # type: ignore[union-attr]
    with runtime.sessions() as s:
        assert [f.prompt_freshness.state for f in _board(s, ids).frames] == ["fresh", "fresh"]
    with runtime.sessions() as s:
        assert _board(s, ids).shots[0].clip_freshness == Freshness("fresh")

    with session_scope(runtime.sessions) as s:
        frame = s.get(Frame, ids.frame_ids[1])
        newer = PromptVersion(frame_id=frame.id, number=2, text="A closer view", origin="manual",  # type: ignore[union-attr]
                              provider="manual", input_hash="x" * 64)
        s.add(newer)
        s.flush()
        frame.selected_prompt_id = newer.id  # type: ignore[union-attr]
    with runtime.sessions() as s:
        shot = _board(s, ids).shots[0]
    assert shot.frames[1].image_freshness == Freshness(
        "stale", ("rendered from another prompt version than the selected one",))
    assert shot.clip_freshness == Freshness("stale", ("the end frame's image is stale",))

    with session_scope(runtime.sessions) as s:
        s.get(Frame, ids.frame_ids[0]).selected_image_id = None  # type: ignore[union-attr]
    with runtime.sessions() as s:
        shot = _board(s, ids).shots[0]
    assert shot.frames[0].image_freshness.state == "missing"
    assert shot.clip_freshness.reasons[0] == "the start frame's selected image changed"


def test_the_staleness_rules_over_values() -> None:
    fresh, stale = Freshness("fresh"), Freshness("stale", ("scene text changed",))
    assert image_freshness(None, None, 3, fresh).state == "missing"
    assert image_freshness(7, 3, 3, fresh) == fresh
    assert image_freshness(7, 3, 3, stale).reasons == ("its prompt is stale",)
    assert image_freshness(7, 2, 3, fresh).stale
    assert clip_freshness(None, [1], ()).state == "missing"
    assert clip_freshness(9, [], ()) == fresh  # source images unknown (an explicit-URL clip): taken as is
    assert clip_freshness(9, [1], ()).reasons == ("the shot has no frames left",)
    assert stale.describe() == "stale: scene text changed" and fresh.describe() == "up to date"


@pytest.mark.parametrize("relax", [False, True])
def test_the_review_and_clips_pages_and_the_queue_share_one_clip_gate(runtime: Runtime, relax: bool) -> None:
    from core.review import clip_block_reason

    ids = _script(runtime, shots=2)
    with runtime.sessions() as s:
        board = _board(s, ids)
        for shot in board.shots:
            assert shot.clip_block_reason(relax=relax) == clip_block_reason(s, shot.id, relax=relax)
    assert (board.shots[0].clip_block_reason(relax=relax) is None) is relax


def test_a_video_s_current_board_and_clear_errors_for_what_does_not_exist(runtime: Runtime) -> None:
    from core.errors import NotFoundError

    ids = _script(runtime, shots=2)
    with runtime.sessions() as s:
        current = core_board.load_current_board(s, ids.video_ids[0], comments=True)
        assert current is not None and current == core_board.load_board(s, current.id, comments=True)
        assert current.frames[0].comments[0].body == "الإضاءة جميلة"
        for call, message in ((lambda: core_board.load_board(s, 999_999), "Storyboard 999999 does not exist"),
                              (lambda: core_board.load_current_board(s, 999_999), "Video 999999 does not exist"),
                              (lambda: core_board.load_script(s, 999_999), "Script 999999 is not in the library"),
                              (lambda: core_board.load_script(s, ids.file_id, video_id=999_999),
                               f"Video 999999 is not part of script {ids.file_id}")):
            with pytest.raises(NotFoundError, match=message):
                call()
