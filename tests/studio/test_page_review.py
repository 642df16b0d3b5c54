"""Review page: one frame at a time, one click per verdict, drafts approved directly, next frame opened after."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.models import Comment, Frame, Shot, Storyboard, Video
from core.runtime import Runtime
from tests.studio.conftest import ingest, texts


def _video(rt: Runtime, file_id: int) -> int:
    with rt.sessions() as s:
        return s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()


def _click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _statuses(rt: Runtime, video_id: int) -> list[str]:
    with rt.sessions() as s:
        frames = s.scalars(select(Frame).join(Shot).where(Frame.deleted_at.is_(None))
                           .order_by(Shot.position, Frame.position)).all()
        return [f.review_status for f in frames if f.shot.storyboard.video_id == video_id]


def test_a_reviewer_goes_through_the_frames_one_click_each(open_app: Callable[..., AppTest],
                                                          studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=2)
    video_id = _video(studio_rt, file_id)
    at = open_app("review", script=file_id, video=video_id)
    assert "Shot 1 · frame 1" in texts(at) and "1 of 4" in texts(at)
    assert at.button(key="review-approve").proto.shortcut.lower() == "a"
    at = _click(at, "review-approve")  # a draft, approved in one click
    assert _statuses(studio_rt, video_id) == ["approved", "draft", "draft", "draft"]
    assert "2 of 4" in texts(at)  # the next frame waiting is open
    # needs changes wants a comment, and says so
    at = _click(at, "review-changes")
    assert at.error and "Say what needs to change" in at.error[0].value
    at.text_input(key=next(k for k in (w.key for w in at.text_input) if k and k.startswith("review-note-"))) \
        .input("Too dark, add a window").run()
    at = _click(at, "review-changes")
    assert _statuses(studio_rt, video_id) == ["approved", "needs_changes", "draft", "draft"]
    with studio_rt.sessions() as s:
        assert [c.body for c in s.scalars(select(Comment))] == ["Too dark, add a window"]
    assert "3 of 4" in texts(at)
    at = _click(at, "review-approve")
    at = _click(at, "review-approve")
    assert "2 of 4" in texts(at)  # back to the one frame still waiting
    at = _click(at, "review-prev")
    assert "1 of 4" in texts(at)
    at = _click(at, "review-next")
    at = _click(at, "review-approve")  # needs changes → approved directly too
    assert _statuses(studio_rt, video_id) == ["approved"] * 4
    shot_ids = [k for k in (b.key for b in at.button) if k and k.startswith("review-approve-shot-")]
    at = _click(at, shot_ids[0])
    with studio_rt.sessions() as s:
        assert sorted(sh.review_status for sh in s.scalars(select(Shot).where(Shot.review_status != "draft"))) \
            == ["approved"]


def test_a_locked_frame_says_so_and_is_unlocked_with_a_reason(open_app: Callable[..., AppTest],
                                                             studio_rt: Runtime) -> None:
    """Locking and unlocking happen where the studio's errors send the reviewer ("Unlock it on the Review page")."""
    file_id = ingest(studio_rt, shots=1, frames=2)
    video_id = _video(studio_rt, file_id)
    at = open_app("review", script=file_id, video=video_id)
    assert "1 of 2" in texts(at)
    at = _click(at, "review-approve")  # frame 1 approved, frame 2 opened
    at = _click(at, "review-prev")
    assert at.button(key="review-approve").disabled
    at = _click(at, "review-lock")
    assert _statuses(studio_rt, video_id) == ["locked", "draft"]
    page = texts(at)
    assert "Locked: its prompt and image cannot change" in page and ":material/lock: locked" in page
    assert at.button(key="review-changes").disabled and at.button(key="review-unlock").disabled  # no reason yet
    at.text_input(key=next(k for k in (w.key for w in at.text_input) if k and k.startswith("review-note-"))) \
        .input("The client wants another angle").run()
    at = _click(at, "review-unlock")
    assert _statuses(studio_rt, video_id) == ["approved", "draft"]
    with studio_rt.sessions() as s:
        assert [c.body for c in s.scalars(select(Comment))] == ["The client wants another angle"]


def test_a_locked_shot_is_unlocked_from_the_overview_with_a_reason(open_app: Callable[..., AppTest],
                                                                  studio_rt: Runtime) -> None:
    from core.db import session_scope

    file_id = ingest(studio_rt, shots=1, frames=1)
    video_id = _video(studio_rt, file_id)
    with session_scope(studio_rt.sessions) as s:
        shot = s.scalars(select(Shot).join(Storyboard).where(Storyboard.video_id == video_id)).one()
        shot.review_status = "locked"
        for frame in shot.frames:
            frame.review_status = "approved"
        shot_id = shot.id
    at = open_app("review", script=file_id, video=video_id)
    assert at.button(key=f"review-unlock-shot-{shot_id}").disabled
    at.text_input(key=f"review-unlock-reason-{shot_id}").input("Re-render with the new logo").run()
    at = _click(at, f"review-unlock-shot-{shot_id}")
    with studio_rt.sessions() as s:
        assert s.get(Shot, shot_id).review_status == "approved"  # type: ignore[union-attr]


def test_a_frame_changed_after_approval_says_so_and_is_approved_again_in_one_click(
        open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    from core.grid import EditSceneText, apply_grid_edits

    file_id = ingest(studio_rt, shots=1, frames=2)
    video_id = _video(studio_rt, file_id)
    at = open_app("review", script=file_id, video=video_id)
    at = _click(at, "review-approve")
    at = _click(at, "review-approve")
    assert _statuses(studio_rt, video_id) == ["approved", "approved"]
    with studio_rt.sessions() as s:  # someone edits the first frame's scene text on the board
        frame = s.scalars(select(Frame).join(Shot).where(Shot.storyboard.has(video_id=video_id))
                          .order_by(Frame.position)).first()
        apply_grid_edits(s, frame.shot.storyboard_id, [EditSceneText(frame.id, "A new scene", frame.lock_version)],
                         actor="ed")
        s.commit()
    at = open_app("review", script=file_id, video=video_id)
    assert "changed since approved" in texts(at)  # the focused frame is the changed one, waiting again
    at = _click(at, "review-approve")
    with studio_rt.sessions() as s:
        frame = s.get(Frame, frame.id)
        assert frame.approval["parts"] and frame.review_status == "approved"
    assert "changed since approved" not in texts(at)
