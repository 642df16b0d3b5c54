"""Review gates are enforced in core: transitions, required comments, locks, clip approval, activity."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import review
from core.errors import GateError, NotFoundError, ValidationError
from core.models import Activity, Frame, Shot
from core.runtime import Runtime
from tests.core.review_factory import make_script


def _approve(session, subject_type: str, subject_id: int) -> None:
    review.set_status(session, subject_type, subject_id, "in_review", actor="ed")
    review.set_status(session, subject_type, subject_id, "approved", actor="ed")


def test_happy_path_is_logged_and_progress_counts(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=2, frames=2, with_images=False, clip_shots=0)
        first, second = ids.frame_ids[:2]
        _approve(session, "frame", first)
        review.set_status(session, "frame", first, "locked", actor="ed")
        review.set_status(session, "frame", second, "in_review", actor="ed")
        session.commit()

        progress = review.approval_progress(session, ids.video_ids[0])
        assert progress.frames_total == 4
        assert progress.frames_approved == 1
        assert progress.frames_by_status == {"locked": 1, "in_review": 1, "draft": 2}
        assert progress.fraction == pytest.approx(0.25)
        assert progress.shots_total == 2 and progress.shots_approved == 0

        rows = session.scalars(select(Activity).where(Activity.action == "review.status",
                                                      Activity.subject_id == first).order_by(Activity.id)).all()
        assert [(a.detail["old"], a.detail["new"]) for a in rows] == [
            ("draft", "in_review"), ("in_review", "approved"), ("approved", "locked")]
        assert all(a.actor == "ed" and a.source_file_id == ids.file_id for a in rows)
        locked = review.frames_with_status(session, ids.video_ids[0], ["locked"])
        assert [f.id for f in locked] == [first]


def test_skipping_a_step_is_refused_with_the_allowed_moves(sqlite_runtime: Runtime) -> None:
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, with_images=False, clip_shots=0)
        with pytest.raises(GateError, match="cannot go to Locked directly.*Approved, In review"):
            review.set_status(session, "frame", ids.frame_ids[0], "locked", actor="ed")
        with pytest.raises(GateError, match="Say what needs to change"):
            review.set_status(session, "frame", ids.frame_ids[0], "needs_changes", actor="ed")
        with pytest.raises(ValidationError, match="Unknown review status"):
            review.set_status(session, "frame", ids.frame_ids[0], "done", actor="ed")
        with pytest.raises(NotFoundError):
            review.set_status(session, "frame", 999_999, "in_review", actor="ed")
        assert session.get(Frame, ids.frame_ids[0]).review_status == "draft"


def test_a_draft_is_approved_in_one_step(sqlite_runtime: Runtime) -> None:
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, with_images=False, clip_shots=0)
        moved = review.set_status(session, "frame", ids.frame_ids[0], "approved", actor="ed")
        assert (moved.old, moved.new) == ("draft", "approved")
        sent = review.set_status(session, "frame", ids.frame_ids[1], "needs_changes", actor="ed",
                                 comment="Too dark")
        assert (sent.old, sent.new) == ("draft", "needs_changes")
        again = review.set_status(session, "frame", ids.frame_ids[1], "approved", actor="ed")
        assert (again.old, again.new) == ("needs_changes", "approved")


def test_needs_changes_requires_a_comment_that_joins_the_thread(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, with_images=False, clip_shots=0)
        fid = ids.frame_ids[1]
        review.set_status(session, "frame", fid, "in_review", actor="ed")
        with pytest.raises(GateError, match="needs a comment"):
            review.set_status(session, "frame", fid, "needs_changes", actor="client", comment="  ")
        t = review.set_status(session, "frame", fid, "needs_changes", actor="client", comment="Warmer light")
        session.commit()
        assert (t.old, t.new) == ("in_review", "needs_changes") and t.comment_id is not None
        review.add_comment(session, "frame", fid, "Done, please check", author="ed")
        session.commit()
        thread = review.list_comments(session, "frame", fid)
        assert [(c.author, c.body) for c in thread] == [("client", "Warmer light"), ("ed", "Done, please check")]
        assert thread[0].created_at is not None
        assert review.comments_by_subject(session, "frame", [fid])[fid][1].body == "Done, please check"


def test_unlocking_needs_a_reason_and_locked_frames_are_not_editable(sqlite_runtime: Runtime) -> None:
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, with_images=False, clip_shots=0)
        fid = ids.frame_ids[0]
        frame = session.get(Frame, fid)
        review.assert_frame_editable(frame)  # draft: fine
        _approve(session, "frame", fid)
        review.set_status(session, "frame", fid, "locked", actor="ed")
        with pytest.raises(GateError, match="is locked"):
            review.assert_frame_editable(frame)
        with pytest.raises(GateError, match="unlocked"):
            review.set_status(session, "frame", fid, "approved", actor="ed")
        review.set_status(session, "frame", fid, "approved", actor="ed", comment="Client asked for a new take")
        review.assert_frame_editable(frame)


def test_shot_approval_and_clip_gate_follow_the_frames(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=1, frames=2, with_images=False, clip_shots=0)
        sid = ids.shot_ids[0]
        f1, f2 = ids.frame_ids
        assert not review.clip_allowed(session, sid, relax=False)
        assert review.clip_allowed(session, sid, relax=True)
        _approve(session, "frame", f1)
        assert "frame(s) 2 are not approved" in (review.clip_block_reason(session, sid, relax=False) or "")
        review.set_status(session, "shot", sid, "in_review", actor="ed")
        with pytest.raises(GateError, match="frame\\(s\\) 2"):
            review.set_status(session, "shot", sid, "approved", actor="ed")
        _approve(session, "frame", f2)
        review.set_status(session, "frame", f2, "locked", actor="ed")
        assert review.clip_allowed(session, sid, relax=False)
        review.set_status(session, "shot", sid, "approved", actor="ed")
        review.set_status(session, "shot", sid, "locked", actor="ed")
        # A locked shot's clip is never re-rendered, relaxed or not.
        assert not review.clip_allowed(session, sid, relax=True)
        with pytest.raises(GateError, match="locked"):
            review.assert_shot_editable(session.get(Shot, sid))
        with pytest.raises(GateError, match="locked"):
            review.assert_clip_allowed(session, sid, relax=True)


def test_bulk_transition_is_all_or_nothing(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=1, frames=3, with_images=False, clip_shots=0)
        review.set_status_many(session, "frame", ids.frame_ids[:2], "in_review", actor="ed")
        review.set_status(session, "frame", ids.frame_ids[2], "approved", actor="ed")
        review.set_status(session, "frame", ids.frame_ids[2], "locked", actor="ed")
        session.commit()
        with pytest.raises(GateError, match="Frame 3"):  # unlocking needs a reason: the whole batch stays
            review.set_status_many(session, "frame", ids.frame_ids, "approved", actor="ed")
        session.commit()
        statuses = [session.get(Frame, i).review_status for i in ids.frame_ids]
        assert statuses == ["in_review", "in_review", "locked"]
        approvals = session.scalars(select(Activity).where(Activity.detail["new"].as_string() == "approved",
                                                           Activity.subject_id.in_(ids.frame_ids[:2]))).all()
        assert approvals == []


def test_deleted_frames_cannot_be_reviewed(sqlite_runtime: Runtime) -> None:
    from core.models import utcnow

    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, with_images=False, clip_shots=0)
        session.get(Frame, ids.frame_ids[0]).deleted_at = utcnow()
        with pytest.raises(GateError, match="deleted"):
            review.set_status(session, "frame", ids.frame_ids[0], "in_review", actor="ed")
        assert review.approval_progress(session, ids.video_ids[0]).frames_total == 3
