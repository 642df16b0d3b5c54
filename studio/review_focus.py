"""The Review page's frames: one frame at a time, judged in one click, and a compact overview of the video.

- Approve is one click (shortcut A); "Needs changes" is one click after typing what (shortcut N); a draft is
  approved directly (core's transitions allow it).
- Previous / Next (shortcuts Left / Right) go through the frames the filter shows; after a verdict the next frame
  still waiting is opened, so a reviewer can go through a video with the keyboard.
- An approved frame is locked in one click; a locked frame says so (as its badge on the board does) and is
  unlocked with the reason typed as the comment; a locked shot is unlocked from the overview, with a reason.
- The overview is one line per shot (its frames as status badges), so twelve frames fit on one screen instead of
  twelve image rows.
"""

from __future__ import annotations

import streamlit as st

from core import review
from core.batch_check import without_label
from core.exports.data import FrameRow, ShotRow, VideoRow
from core.runtime import Runtime
from studio import state
from studio.actions import ok, perform
from studio.review_actions import approve_shot
from studio.frame_card import review_md
from studio.thumbnails import show_preview
from studio.widgets import escape_markdown, relative_time, show_text

WAITING = ("draft", "in_review", "needs_changes", "changed")  # "changed": approved once, changed since


def _cursor_key(video_id: int) -> str:
    return f"review-cursor-{video_id}"


def _move(rt: Runtime, shot: ShotRow, frame: FrameRow, status: str, *, actor: str, note: str | None) -> bool:
    done = perform(rt, lambda s: review.set_status(s, "frame", frame.frame_id, status, actor=actor,
                                                   comment=note or None))
    if ok(done):
        state.flash(f"Shot {shot.position} · frame {frame.position}: {review.STATUS_LABELS[status].lower()}")
    return ok(done)


def _next_waiting(order: list[tuple[ShotRow, FrameRow]], index: int) -> int:
    """The index of the next frame after `index` still waiting for a verdict (wrapping), else `index` + 1."""
    n = len(order)
    for step in range(1, n + 1):
        j = (index + step) % n
        if order[j][1].status in WAITING:
            return j
    return min(index + 1, n - 1)


def draw_review_frames(rt: Runtime, video: VideoRow, shown: list[str], *, actor: str, may_review: bool) -> None:
    """The focused frame (large image, text, thread, verdict buttons) above the overview of every shot."""
    order = [(shot, frame) for shot in video.shots for frame in shot.frames if frame.status in shown]
    key = _cursor_key(video.video_id)
    if not order:
        st.info("No frame has the statuses chosen above.", icon=":material/filter_alt_off:")
    else:
        index = min(int(st.session_state.get(key, 0)), len(order) - 1)
        _focused(rt, order, index, key=key, actor=actor, may_review=may_review)
    _overview(rt, video, actor=actor, may_review=may_review)


def _focused(rt: Runtime, order: list[tuple[ShotRow, FrameRow]], index: int, *, key: str, actor: str,
             may_review: bool) -> None:
    shot, frame = order[index]
    with st.container(border=True, key=f"review-focus-{frame.frame_id}"):
        with st.container(horizontal=True, vertical_alignment="center", key="review-nav"):
            st.markdown(f"**Shot {shot.position} · frame {frame.position}** {review_md(frame.status)} "
                        f"· {index + 1} of {len(order)}", width="content")
            st.space("stretch")
            if st.button("", key="review-prev", icon=":material/chevron_left:", shortcut="Left",
                         disabled=index == 0, help="Previous frame (← key)"):
                st.session_state[key] = index - 1
                st.rerun()
            if st.button("", key="review-next", icon=":material/chevron_right:", shortcut="Right",
                         disabled=index >= len(order) - 1, help="Next frame (→ key)"):
                st.session_state[key] = index + 1
                st.rerun()
        left, right = st.columns([3, 2])
        with left:
            if frame.image_path is not None:
                show_preview(frame.image_path)
            else:
                st.caption(":material/image_not_supported: no image yet")
        with right:
            show_text(frame.scene_text, key=f"review-scene-{frame.frame_id}", placeholder="no scene text")
            st.caption(":material/edit_note: " + (escape_markdown(frame.prompt) or "no prompt yet"))
            _thread(frame)
            if not may_review:
                st.caption("Your role can read the review; verdicts are for reviewers and producers.")
                return
            locked = frame.status == "locked"
            if locked:  # as on the board's card (the badge above), and what it means here
                st.caption(":material/lock: Locked: its prompt and image cannot change. To change them, unlock it "
                           "with the reason in the comment.")
            note = st.text_input("Comment", key=f"review-note-{frame.frame_id}",
                                 placeholder="Why it is unlocked (needed to unlock)" if locked else
                                 "What needs to change (needed for Needs changes)")
            verdicts = st.container(horizontal=True, key="review-verdicts")
            approved = frame.status in review.APPROVED_STATUSES
            if verdicts.button("Approve", key="review-approve", type="primary", icon=":material/check:", shortcut="A",
                         disabled=approved, help="Approve this frame (A key)") and \
                    _move(rt, shot, frame, "approved", actor=actor, note=note):
                st.session_state[key] = _next_waiting(order, index)
                st.rerun()
            if verdicts.button("Needs changes", key="review-changes", icon=":material/edit:", shortcut="N",
                         disabled=frame.status == "locked", help="Send back with the comment above (N key)") and \
                    _move(rt, shot, frame, "needs_changes", actor=actor, note=note):
                st.session_state[key] = _next_waiting(order, index)
                st.rerun()
            if frame.status == "approved" and verdicts.button(
                    "Lock", key="review-lock", icon=":material/lock:",
                    help="Lock this frame: its prompt and image cannot change, batches skip it") and \
                    _move(rt, shot, frame, "locked", actor=actor, note=note):
                st.rerun()
            if locked and verdicts.button("Unlock", key="review-unlock", icon=":material/lock_open:",
                                          disabled=not note.strip(),
                                          help="Back to Approved, with the comment above as the reason") and \
                    _move(rt, shot, frame, "approved", actor=actor, note=note):
                st.rerun()
            if verdicts.button("Comment", key="review-comment", icon=":material/chat:", disabled=not note.strip(),
                               help="Add the comment without changing the status") and ok(perform(
                    rt, lambda s: review.add_comment(s, "frame", frame.frame_id, note, author=actor),
                    success="Comment added")):
                st.rerun()


def _thread(frame: FrameRow) -> None:
    shown = frame.comments[-3:]
    for n, c in enumerate(shown):
        st.caption(f"**{escape_markdown(c.author)}** · {relative_time(c.at)}")
        show_text(c.body, key=f"comment-{frame.frame_id}-{len(frame.comments) - len(shown) + n}")  # Arabic: RTL
    if len(frame.comments) > 3:
        st.caption(f"and {len(frame.comments) - 3} earlier comment(s) in the export")


def _overview(rt: Runtime, video: VideoRow, *, actor: str, may_review: bool) -> None:
    """One line per shot: its frames as status badges, the shot's own status and review control."""
    st.markdown("**All shots**")
    for shot in video.shots:
        with st.container(border=True, key=f"review-shot-{shot.shot_id}"):
            cols = st.columns([1, 4, 2], vertical_alignment="center")
            cols[0].markdown(f"**Shot {shot.position}** {review_md(shot.status)}")
            cols[1].markdown(" ".join(f"**{frame.position}** {review_md(frame.status)}" for frame in shot.frames)
                             or "no frames")
            relaxed = review.clip_gate_relaxed(rt.settings)  # the Clips page's rule, the render queue's too
            reason = shot.clip_block_reason(relax=relaxed)
            for direction in shot.directions:  # what is seen, beside (never inside) the narration
                cols[1].caption(f":material/videocam: {escape_markdown(direction)}")
            cols[1].caption(f"Clip: {without_label(reason)}" if reason else "Clip: may be rendered " + (
                "(clips from unapproved frames are allowed)" if relaxed else "(all frames approved)"))
            with cols[2]:
                _shot_verdict(rt, shot, actor=actor, may_review=may_review)


def _shot_verdict(rt: Runtime, shot: ShotRow, *, actor: str, may_review: bool) -> None:
    if not may_review:
        return
    # The board's button, the same rule: approves the shot's frames that are not yet, then the shot.
    if shot.status not in review.APPROVED_STATUSES and shot.frames and st.button(
            "Approve shot", key=f"review-approve-shot-{shot.shot_id}", icon=":material/task_alt:", width="stretch",
            help="Approve its frames and the shot: clips are rendered only from approved frames") and ok(perform(
            rt, lambda s: approve_shot(s, shot.shot_id, actor=actor), success=f"Shot {shot.position} approved")):
        st.rerun()
    if shot.status == "approved" and st.button(
            "Lock shot", key=f"review-lock-shot-{shot.shot_id}", icon=":material/lock:", width="stretch",
            help="Lock the shot: its clip cannot change") and ok(perform(
            rt, lambda s: review.set_status(s, "shot", shot.shot_id, "locked", actor=actor),
            success=f"Shot {shot.position} locked")):
        st.rerun()
    if shot.status == "locked":
        with st.popover("Unlock shot", icon=":material/lock_open:", width="stretch",
                        help="Its clip is locked: unlock it (with a reason) to render another"):
            reason = st.text_input("Why it is unlocked", key=f"review-unlock-reason-{shot.shot_id}")
            if st.button("Unlock", key=f"review-unlock-shot-{shot.shot_id}", disabled=not reason.strip()) and ok(
                    perform(rt, lambda s: review.set_status(s, "shot", shot.shot_id, "approved", actor=actor,
                                                            comment=reason),
                            success=f"Shot {shot.position} unlocked")):
                st.rerun()
    for c in shot.comments[-1:]:
        st.caption(f"{escape_markdown(c.author)}: {escape_markdown(c.body)}")
