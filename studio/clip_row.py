"""One shot on the Clips page: start and end images, the player, status, one Render clip button, takes."""

from __future__ import annotations

import streamlit as st

from core.jobs import list_takes, request_clip, select_take
from core.money import Quote
from core.review import clip_gate_relaxed
from core.runtime import Runtime
from studio import auth
from studio.actions import ok, perform
from studio.board import ShotView
from studio.frame_card import thumbnail, title_line
from studio.one_click_button import one_click_button
from studio.voice_panel import narration_player
from studio.widgets import escape_markdown, relative_time, show_text, status_chip


def ends(shot: ShotView) -> None:
    """The start and end images, side by side."""
    start, end = st.columns(2)
    with start:
        st.caption("Start")
        thumbnail(shot.frames[0])
    with end:
        st.caption("End")
        thumbnail(shot.frames[-1])


def clip_takes(rt: Runtime, shot: ShotView) -> None:
    with rt.sessions() as session:
        takes = list_takes(session, shot_id=shot.id)
    if len(takes) < 2:
        return
    labels = {t.id: f"Take {len(takes) - i} · {relative_time(t.created_at)}" for i, t in enumerate(takes)}
    pick = st.selectbox("Takes", list(labels), format_func=labels.__getitem__, key=f"clip-takes-{shot.id}",
                        index=list(labels).index(shot.clip_id) if shot.clip_id in labels else 0)
    if pick != shot.clip_id and auth.can(rt.settings, "edit") and st.button(
            "Use this take", key=f"use-clip-{shot.id}") and ok(perform(
        rt, lambda s: select_take(s, pick, actor=rt.settings.author_name), success="Clip take selected.",
    )):
        st.rerun()


def offers_one_click(shot: ShotView, *, relax: bool) -> bool:
    """Whether the row offers "Approve and render clip": the clip is blocked only by review, not by a lock."""
    return shot.review_status != "locked" and shot.clip_block_reason(relax=relax) is not None


def shot_row(rt: Runtime, shot: ShotView, offer: Quote | str | None = None, *,
             out_of_step: str | None = None) -> None:
    """The player large on the left with the start and end images it moves between below it, half its width each
    (before there is a clip, those images alone); status and buttons on the right. Below 1000 px wide, one column.
    `out_of_step`: why the clip no longer fits its narration (`core.jobs.planning.clips_out_of_step`). `offer`: the
    shot's one-click price or refusal (`one_click_offers`), when `offers_one_click`."""
    cfg = rt.settings
    with st.container(border=True, key=f"clip-row-{shot.id}"):
        title_line(f"Shot {shot.position} · {len(shot.frames)} frame(s)", shot.review_status)
        with st.container(key=f"clip-main-{shot.id}"):
            player, side = st.columns([2, 1])
        with player:
            if shot.clip_path is not None:
                st.video(str(shot.clip_path))
            if shot.frames:
                ends(shot)
            else:
                st.caption(":material/movie: no frames to animate")
            show_text(shot.narration, key=f"clip-narration-{shot.id}")
            narration_player(rt, shot, key=f"clip-voice-{shot.id}")  # its length is the clip's length
        with side:
            status_chip(shot.chip, reason=shot.job_error)
            if out_of_step:
                st.caption(f":material/timer: {escape_markdown(out_of_step)}")
            busy = shot.chip in ("pending", "submitted", "running")
            blocked = shot.clip_block_reason(relax=clip_gate_relaxed(cfg))
            missing = sum(1 for f in shot.frames if not f.image_id)
            if missing and not blocked:
                st.caption(f"{missing} image(s) will be rendered first.")
            if blocked and shot.review_status != "locked":  # not approved yet: approve and render in one click
                st.caption(f":material/pending: {blocked}.")
                one_click_button(rt, shot, offer, key=f"one-click-{shot.id}")
            elif blocked:
                st.caption(f":material/block: {escape_markdown(blocked)}.")
            label = "Re-render clip" if shot.clip_id else "Render clip"
            if not blocked and auth.can(cfg, "render") and st.button(
                    label, key=f"clip-{shot.id}", type="secondary" if shot.clip_id else "primary",
                    icon=":material/movie_edit:", disabled=busy,
                    width="stretch") and ok(perform(
                rt, lambda s: request_clip(s, shot.id, settings=cfg, force=bool(shot.clip_id),
                                           actor=auth.actor_name(cfg)),
                success=f"Clip of shot {shot.position} queued.",
            )):
                st.rerun()
            clip_takes(rt, shot)
