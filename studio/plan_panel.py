"""The Storyboard page's AI director: "Plan with AI" (estimate first, progress after), each shot's size and camera
move as chips with its chain link, the script's "chain shots" switch, the board's note, and the diff of two
storyboard versions. Pages call these; the rules live in `core.planner`, `core.continuity`, `core.storyboard_diff`.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy import select

from core.continuity import chain_links, set_chain_break, set_chain_shots
from core.db import session_scope
from core.library import get_video, list_storyboards
from core.models import Shot, SourceFile, Storyboard
from core.planner.batch import admission_for, plan_videos, videos_in_scope
from core.planner.providers import PLANNERS, default_planner, make_planner
from core.runtime import Runtime
from core.storyboard_diff import diff_storyboards
from core.storyboard_store import HAND_EDIT
from studio import state
from studio.actions import ok, perform
from studio.widgets import badge, escape_markdown, show_error, show_text

PLAN_ESTIMATE = "plan-estimate"  # the estimate shown in the "Plan with AI" popover: (scope, provider, lines)
_SCOPES = {"video": "This video", "script": "The whole script"}
_KIND_BADGES = {"changed": ("changed", "orange"), "added": ("added", "green"), "removed": ("removed", "red"),
                "same": ("same", "gray")}


@dataclass(frozen=True)
class ShotPlanView:
    shot_id: int
    position: int
    shot_size: str
    camera_move: str
    chain_break: bool
    chained_from: int | None  # the position of the shot it starts on


@dataclass(frozen=True)
class BoardPlan:
    file_id: int
    chain_shots: bool
    planner: str
    planner_model: str
    note: str
    shots: dict[int, ShotPlanView]


def load_board_plan(rt: Runtime, storyboard_id: int) -> BoardPlan:
    """The plan parts of a board the page draws beside each shot (two queries)."""
    with rt.sessions() as session:
        board = session.get(Storyboard, storyboard_id)
        assert board is not None
        source = session.scalar(select(SourceFile).where(SourceFile.id == get_video(session, board.video_id)
                                                         .source_file_id))
        assert source is not None
        shots = list(session.scalars(select(Shot).where(Shot.storyboard_id == storyboard_id,
                                                        Shot.deleted_at.is_(None)).order_by(Shot.position, Shot.id)))
        links = chain_links(shots, enabled=source.chain_shots)
        views = {s.id: ShotPlanView(s.id, s.position, s.shot_size, s.camera_move, s.chain_break,
                                    links[s.id].position if s.id in links else None) for s in shots}
        return BoardPlan(source.id, source.chain_shots, board.planner, board.planner_model, board.note, views)


# ---- the controls above the board -------------------------------------------------------------------------------

def plan_controls(rt: Runtime, video_id: int, plan: BoardPlan, *, editable: bool) -> None:
    """"Plan with AI" and the script's chain switch (the board's note is drawn by `studio.storyboard_density`)."""
    cfg = rt.settings
    if plan.planner == HAND_EDIT:  # a grid save: the version it was edited from is in the note and the diff
        made_by = "Edited by hand" + (f" ({plan.planner_model})" if plan.planner_model else "")
    else:
        made_by = "Planned by " + ("the offline builder" if plan.planner == "offline"
                                   else f"{plan.planner} · {plan.planner_model}")
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.caption(escape_markdown(made_by))
    if not editable:
        return
    with right:
        chain = st.toggle("Chain shots", value=plan.chain_shots, key=f"chain-shots-{plan.file_id}",
                          help="Each shot's clip starts on the previous shot's last keyframe image: one render "
                               "shared, one charge, no jump at the cut. Break the chain on one shot below.")
        if chain != plan.chain_shots and ok(perform(
                rt, lambda s: set_chain_shots(s, plan.file_id, chain, actor=cfg.author_name),
                success="Shots are chained: each clip starts where the last one ended." if chain
                else "Shots are no longer chained.")):
            st.rerun()
    with st.popover("Plan with AI", icon=":material/auto_awesome:"):
        _plan_popover(rt, video_id, plan.file_id)


def _plan_popover(rt: Runtime, video_id: int, file_id: int) -> None:
    cfg = rt.settings
    st.caption("An AI director cuts the narration into shots (size, one camera move, keyframes, motion). Every "
               "sentence stays in exactly one shot; a plan that does not is asked again once, then not applied. "
               "Each plan is a new storyboard version.")
    scope = st.radio("Plan", list(_SCOPES), format_func=_SCOPES.__getitem__, horizontal=True, key="plan-scope")
    default = default_planner(cfg)
    provider = st.radio("Director", list(PLANNERS), index=list(PLANNERS).index(default), horizontal=True,
                        key="plan-provider", help="openai needs OPENAI_API_KEY; offline is free and instant.")
    force = st.checkbox("Plan again even where nothing changed", key="plan-force")
    wanted = (scope, provider, force)
    shown = st.session_state.get(PLAN_ESTIMATE)
    if shown is None or shown[0] != wanted:
        if st.button("Estimate the cost", icon=":material/calculate:", key="plan-estimate-button"):
            try:
                planner = make_planner(cfg, provider)
                with session_scope(rt.sessions) as session:
                    ids = videos_in_scope(session, video_id=video_id) if scope == "video" else \
                        videos_in_scope(session, file_id=file_id)
                    est, verdict = admission_for(session, ids, planner, force=force,
                                                 wpm=rt.settings.speaking_rate_wpm)
            except Exception as err:  # noqa: BLE001 - shown in words
                show_error(err)
                return
            st.session_state[PLAN_ESTIMATE] = (wanted, est.summary(), verdict.admitted, verdict.level,
                                               verdict.reason)
            st.rerun()
        return
    _wanted, summary, admitted, level, reason = shown
    st.markdown(f"**Before anything is sent:** {escape_markdown(summary)}")
    if not admitted:
        st.error(escape_markdown(reason), icon=":material/block:")
    elif level == "warning":
        st.warning(escape_markdown(reason), icon=":material/savings:")
    if st.button("Plan now", type="primary", icon=":material/auto_awesome:", disabled=not admitted,
                 key="plan-run"):
        _run_plan(rt, video_id, file_id, scope, provider, force)


def _run_plan(rt: Runtime, video_id: int, file_id: int, scope: str, provider: str, force: bool) -> None:
    cfg = rt.settings
    bar = st.progress(0.0, text="Planning…")

    def progress(done: int, total: int, _video_id: int, outcome: str) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total} video(s) · last: {outcome.replace('_', ' ')}")

    try:
        planner = make_planner(cfg, provider)
        with session_scope(rt.sessions) as session:
            ids = videos_in_scope(session, video_id=video_id) if scope == "video" else \
                videos_in_scope(session, file_id=file_id)
        summary = plan_videos(rt.sessions, ids, planner, concurrency=cfg.refine_concurrency, force=force,
                              progress=progress, actor=cfg.author_name, wpm=cfg.speaking_rate_wpm)
    except Exception as err:  # noqa: BLE001 - shown in words
        show_error(err)
        return
    st.session_state.pop(PLAN_ESTIMATE, None)
    kept = f"; {summary.fell_back} kept their storyboard (the reason is on each)" if summary.fell_back else ""
    state.flash(f"Planned {summary.planned}, reused {summary.reused} unchanged{kept}.",
                icon=":material/auto_awesome:" if not summary.fell_back else ":material/info:")
    st.rerun()


# ---- beside each shot -------------------------------------------------------------------------------------------

def shot_plan_line(rt: Runtime, view: ShotPlanView | None, *, chain_on: bool, editable: bool) -> None:
    """The shot's size and camera move as chips, and its chain link (with the one-click break / mend)."""
    if view is None:
        return
    chips = []
    if view.shot_size:
        chips.append(badge(view.shot_size, "violet", ":material/crop_free:"))
    if view.camera_move:
        chips.append(badge(view.camera_move, "blue", ":material/videocam:"))
    if view.chained_from is not None:
        chips.append(badge(f"starts on shot {view.chained_from}'s last frame", "green", ":material/link:"))
    elif chain_on and view.position > 1 and view.chain_break:
        chips.append(badge("chain broken", "gray", ":material/link_off:"))
    if chips:
        st.markdown(" ".join(chips))
    if not (editable and chain_on and view.position > 1):
        return
    label, icon = ("Break chain", ":material/link_off:") if not view.chain_break else \
        ("Chain to previous shot", ":material/link:")
    if st.button(label, key=f"chain-break-{view.shot_id}", icon=icon, type="tertiary") and ok(perform(
            rt, lambda s: set_chain_break(s, view.shot_id, not view.chain_break, actor=rt.settings.author_name),
            success=f"Shot {view.position} starts on its own first frame." if not view.chain_break
            else f"Shot {view.position} starts on shot {view.position - 1}'s last frame again.")):
        st.rerun()


# ---- the diff of two versions ------------------------------------------------------------------------------------

def draw_version_diff(rt: Runtime, video_id: int) -> None:
    with rt.sessions() as session:
        versions = list_storyboards(session, video_id)
    if len(versions) < 2:
        st.caption("Only one version so far: plan with AI or rebuild to have two to compare.")
        return
    labels = {b.id: f"Version {b.version} · {b.planner}" + (" (current)" if b.is_current else "") for b in versions}
    ids = list(labels)
    current = next((b.id for b in versions if b.is_current), ids[-1])
    before_default = ids[ids.index(current) - 1] if ids.index(current) > 0 else ids[0]
    left, right = st.columns(2)
    old_id = left.selectbox("From", ids, index=ids.index(before_default), format_func=labels.__getitem__,
                            key=f"diff-old-{video_id}")
    new_id = right.selectbox("To", ids, index=ids.index(current), format_func=labels.__getitem__,
                             key=f"diff-new-{video_id}")
    with rt.sessions() as session:
        diff = diff_storyboards(session, old_id, new_id)
    st.markdown(f"**{escape_markdown(diff.summary())}**")
    for n, shot in enumerate(diff.shots):
        if shot.kind == "same":
            continue
        word, color = _KIND_BADGES[shot.kind]
        with st.container(border=True, key=f"diff-shot-{n}"):
            st.markdown(f"{badge(word, color)} **{escape_markdown(shot.label)}**")
            snap = shot.new or shot.old
            assert snap is not None
            show_text(snap.narration, key=f"diff-narration-{n}")
            for line in shot.changes:
                st.markdown(f"- {escape_markdown(line)}")
