"""Approvals mean what they say: a change to what was approved sends it back to review, on SQLite and PostgreSQL.

Each way a frame can change after approval — an edit on the board, a scene text brought back from Word, an archive
import, a new prompt version, a newly selected take — makes it read "changed since approved" on the board (the one
read model of the studio, the API and the exports), blocks the clip it gated, and is logged with who and what.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import approvals, review
from core.authz import Principal, Role, acting_as
from core.board import load_current_board
from core.errors import GateError
from core.exports.archive import export_archive, import_archive
from core.grid import EditSceneText, apply_grid_edits
from core.jobs import Worker, request_clip, request_image, select_take
from core.models import Activity, Asset, Frame, PromptVersion, SourceFile
from core.prompts.versions import add_manual_version, select_version
from core.runtime import Runtime
from tests.core.review_factory import ScriptIds, make_script

REVIEWER = Principal("rita@client.test", "Rita", frozenset({Role.REVIEWER}))
PRODUCER = Principal("pat@studio.test", "Pat", frozenset({Role.PRODUCER}))


def _approve_shot(session: Session, ids: ScriptIds, shot_index: int = 0) -> list[int]:
    """Approve every frame of a shot, then the shot, as the reviewer; returns the frame ids."""
    shot_id = ids.shot_ids[shot_index]
    frames = [f.id for f in session.scalars(select(Frame).where(Frame.shot_id == shot_id).order_by(Frame.position))]
    with acting_as(REVIEWER):
        for fid in frames:
            review.set_status(session, "frame", fid, "approved", actor="producer")
        review.set_status(session, "shot", shot_id, "approved", actor="producer")
    session.commit()
    return frames


def _board_frame(session: Session, ids: ScriptIds, frame_id: int):  # type: ignore[no-untyped-def]
    board = load_current_board(session, ids.video_ids[0])
    assert board is not None
    return next(f for f in board.frames if f.id == frame_id), next(s for s in board.shots if s.id == ids.shot_ids[0])


def _last_change(session: Session, frame_id: int) -> Activity:
    entry = session.scalar(select(Activity).where(Activity.action == "review.changed_since_approved",
                                                  Activity.subject_type == "frame", Activity.subject_id == frame_id)
                           .order_by(Activity.id.desc()).limit(1))
    assert entry is not None, "the change was not logged"
    return entry


@pytest.fixture
def approved(runtime: Runtime) -> tuple[Runtime, ScriptIds, list[int]]:
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=2, frames=2, clip_shots=1)
        session.commit()
        frames = _approve_shot(session, ids)
    return runtime, ids, frames


def test_approving_records_what_was_approved_and_by_whom(approved) -> None:  # type: ignore[no-untyped-def]
    rt, ids, frames = approved
    with rt.sessions() as session:
        frame, shot = _board_frame(session, ids, frames[0])
        assert (frame.review_status, frame.approval_changes) == ("approved", ())
        assert shot.review_status == "approved"
        stored = session.get(Frame, frames[0]).approval
        assert stored["by"] == "rita@client.test" and set(stored["parts"]) == {"scene_text", "beat", "prompt",
                                                                               "image"}


def test_a_board_edit_sends_the_frame_back_and_blocks_its_clip(approved) -> None:  # type: ignore[no-untyped-def]
    rt, ids, frames = approved
    with rt.sessions() as session:
        row = session.get(Frame, frames[0])
        with acting_as(PRODUCER):
            apply_grid_edits(session, row.shot.storyboard_id,
                             [EditSceneText(row.id, "The teacher points at a chart", row.lock_version)],
                             actor="producer")
        session.commit()
        frame, shot = _board_frame(session, ids, frames[0])
        assert frame.review_status == "changed" and frame.approval_changes == ("scene text",)
        assert review.STATUS_LABELS[frame.review_status] == "Changed since approved"
        assert shot.review_status == "changed" and "frames" in shot.approval_changes
        # Spending gated on approval is refused, on the board's rule and the queue's alike.
        reason = shot.clip_block_reason(relax=False)
        assert reason is not None and "changed since they were approved" in reason
        with pytest.raises(GateError, match="changed since they were approved"):
            request_clip(session, ids.shot_ids[0], settings=rt.settings, provider="offline", force=True)
        session.rollback()
        entry = _last_change(session, frames[0])
        assert (entry.actor, entry.detail["changed"], entry.detail["cause"]) == (
            "pat@studio.test", ["scene text"], "board edit")
        assert review.approval_progress(session, ids.video_ids[0]).frames_by_status.get("changed") == 1
        # Approving it again, as it is now, lets the clip through.
        with acting_as(REVIEWER):
            moved = review.set_status(session, "frame", frames[0], "approved", actor="producer")
            review.set_status(session, "shot", ids.shot_ids[0], "approved", actor="producer")
        assert (moved.old, moved.new) == ("changed", "approved")
        session.commit()
        frame, shot = _board_frame(session, ids, frames[0])
        assert frame.review_status == "approved" and shot.clip_block_reason(relax=False) is None


def test_a_new_prompt_version_changes_the_approval_and_restoring_the_old_one_restores_it(
        approved) -> None:  # type: ignore[no-untyped-def]
    rt, ids, frames = approved
    with rt.sessions() as session:
        before = session.get(Frame, frames[1]).selected_prompt_id
        with acting_as(PRODUCER):
            add_manual_version(session, frames[1], "A wide shot of an empty classroom at night", author="producer")
        session.commit()
        frame, _ = _board_frame(session, ids, frames[1])
        assert frame.review_status == "changed" and frame.approval_changes == ("prompt",)
        assert _last_change(session, frames[1]).detail["cause"] == "prompt edited"
        with acting_as(PRODUCER):
            select_version(session, frames[1], before, actor="producer")  # back to what was approved
        session.commit()
        assert _board_frame(session, ids, frames[1])[0].review_status == "approved"


def test_a_newly_selected_image_changes_the_approval(approved) -> None:  # type: ignore[no-untyped-def]
    rt, ids, frames = approved
    with rt.sessions() as session:
        job = request_image(session, frames[0], settings=rt.settings, provider="offline", force=True, actor="ed")
        session.commit()
    Worker(rt, concurrency=1, idle_s=0.05).run(drain=True)  # the re-roll's take is selected as it arrives
    with rt.sessions() as session:
        frame, shot = _board_frame(session, ids, frames[0])
        assert frame.review_status == "changed" and frame.approval_changes == ("image",)
        assert shot.review_status == "changed"
        entry = _last_change(session, frames[0])
        assert (entry.actor, entry.detail["cause"]) == ("ed", "new take")
        old = session.scalar(select(Asset).where(Asset.frame_id == frames[0], Asset.job_id != job.id,
                                                 Asset.kind == "image"))
        select_take(session, old.id, actor="ed")  # the approved take, restored: approved again
        session.commit()
        assert _board_frame(session, ids, frames[0])[0].review_status == "approved"


def test_a_frame_approved_before_its_image_keeps_its_approval_when_the_image_arrives(
        runtime: Runtime) -> None:
    """"Approve and render clip" approves frames that have no image yet: their first take is what was asked for."""
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=1, frames=1, with_images=False, clip_shots=0)
        session.commit()
        [frame_id] = _approve_shot(session, ids)
        request_image(session, frame_id, settings=runtime.settings, provider="offline")
        session.commit()
    Worker(runtime, concurrency=1, idle_s=0.05).run(drain=True)
    with runtime.sessions() as session:
        frame, shot = _board_frame(session, ids, frame_id)
        assert frame.image_id is not None and frame.review_status == "approved"
        assert shot.review_status == "approved"
        request_image(session, frame_id, settings=runtime.settings, provider="offline", force=True)
        session.commit()
    Worker(runtime, concurrency=1, idle_s=0.05).run(drain=True)
    with runtime.sessions() as session:  # a second take is a change
        assert _board_frame(session, ids, frame_id)[0].review_status == "changed"


def test_a_scene_text_from_word_sends_the_frame_back(approved) -> None:  # type: ignore[no-untyped-def]
    from docx import Document

    from core.exports.runner import run_export
    from core.exports.word import apply_docx_edits

    rt, ids, frames = approved
    with rt.sessions() as session:
        [path] = run_export(session, "docx", settings=rt.settings, file_id=ids.file_id)
        doc = Document(str(path))
        doc.tables[0].rows[1].cells[2].text = "The writer's new scene"
        buf = io.BytesIO()
        doc.save(buf)
        apply_docx_edits(session, ids.file_id, buf.getvalue(), data_dir=rt.data_dir, actor="writer")
        session.commit()
        frame, _ = _board_frame(session, ids, frames[0])
        assert frame.review_status == "changed" and frame.approval_changes == ("scene text",)
        entry = _last_change(session, frames[0])
        assert (entry.actor, entry.detail["cause"]) == ("writer", "Word round trip")


def test_an_archive_carries_approvals_and_an_edited_one_arrives_changed(
        approved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rt, ids, frames = approved
    with rt.sessions() as session:
        summary = export_archive(session, ids.file_id, data_dir=rt.data_dir, out=tmp_path / "course.zip")
    data = summary.path.read_bytes()
    # The same archive with one approved frame's scene text edited by hand.
    edited = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "rows/frames.json":
                rows = json.loads(body)
                for row in rows:
                    if row["id"] == frames[0]:
                        row["scene_text"] = "Edited after approval"
                body = json.dumps(rows).encode()
            dst.writestr(item, body)
    with rt.sessions() as session:
        session.get(SourceFile, ids.file_id).sha256 = "0" * 64  # the original steps aside: one script per file
        session.commit()
    for n, (archive, expect) in enumerate(((data, "approved"), (edited.getvalue(), "changed"))):
        with rt.sessions() as session:
            result = import_archive(session, archive, data_dir=tmp_path / f"other{n}", actor="importer")
            session.commit()
            new_frame = result.id_maps["frames"][frames[0]]
            board = load_current_board(session, result.id_maps["videos"][ids.video_ids[0]])
            assert board is not None
            assert next(f for f in board.frames if f.id == new_frame).review_status == expect
            if expect == "changed":
                entry = _last_change(session, new_frame)
                assert (entry.actor, entry.detail["cause"]) == ("importer", "archive import")
            session.get(SourceFile, result.source_file_id).sha256 = str(n + 1) * 64
            session.commit()


def test_the_fingerprint_is_one_rule_over_contents() -> None:
    a = approvals.frame_parts(scene_text="A", beat="b", prompt_text="p", negative_prompt="n", image_sha="1")
    assert approvals.frame_parts(scene_text=" A ", beat="b", prompt_text="p", negative_prompt="n",
                                 image_sha="1") == a  # as stored, trimmed
    stamp = {"parts": a}
    assert approvals.effective_status("approved", stamp, a) == "approved"
    moved = {**a, "image": approvals.frame_parts(scene_text="", beat="", prompt_text="", negative_prompt="",
                                                 image_sha="2")["image"]}
    assert approvals.effective_status("locked", stamp, moved) == "changed"
    assert approvals.changes(stamp, moved) == ("image",)
    assert approvals.effective_status("approved", None, moved) == "approved"  # approved before fingerprints
    assert approvals.effective_status("draft", stamp, moved) == "draft"


def test_sending_back_clears_the_record_and_a_changed_frame_renders_without_force(
        approved) -> None:  # type: ignore[no-untyped-def]
    rt, ids, frames = approved
    with rt.sessions() as session:
        with pytest.raises(GateError, match="re-roll"):  # approved: not re-rendered unless forced
            request_image(session, frames[0], settings=rt.settings, provider="offline")
        session.rollback()
        with acting_as(PRODUCER):
            add_manual_version(session, frames[0], "A new idea for this frame", author="producer")
        job = request_image(session, frames[0], settings=rt.settings, provider="offline")  # back in review
        assert job.status == "pending"
        with acting_as(REVIEWER):
            review.set_status(session, "frame", frames[0], "needs_changes", actor="r", comment="Not this")
        assert session.get(Frame, frames[0]).approval is None
        assert session.get(PromptVersion, session.get(Frame, frames[0]).selected_prompt_id).author == \
            "pat@studio.test"
        session.rollback()
