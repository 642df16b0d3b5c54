"""Review: approve frames and shots with comments, watch a video's approval progress, and keep the budget."""

from __future__ import annotations

import streamlit as st

from core import cost, review
from core.db import session_scope
from core.errors import StudioError
from core.exports.data import collect_script, script_of_video
from studio import auth, state
from studio.actions import ok, perform
from studio.context import get_runtime
from studio.sidebar import require_video
from studio.widgets import escape_markdown, relative_time, show_text

STATUS_COLOURS = {"draft": "gray", "in_review": "blue", "needs_changes": "orange", "approved": "green",
                  "locked": "violet"}
rt = get_runtime()
video_id = require_video()
actor = auth.actor_name(rt.settings)  # signed in: the e-mail; the local tool: the configured author
may_admin = auth.can(rt.settings, "admin")  # budgets and the rate card are an admin's

with rt.sessions() as session:
    card = cost.load_rate_card(session)
    file_id = script_of_video(session, video_id)
    progress = review.approval_progress(session, video_id)
    video = collect_script(session, file_id, data_dir=rt.data_dir, video_id=video_id, store=rt.assets).videos[0]
    budget = cost.budget_status(session, file_id, rate_card=card)
    video_spend = cost.spend(session, video_id=video_id, rate_card=card)
    per_second = cost.cost_per_approved_clip_second(session, file_id=file_id, rate_card=card)

st.title("Review")
st.caption(f"{video.number}. {escape_markdown(video.title)} · reviewing as **{escape_markdown(actor)}**")
st.progress(progress.fraction, text=progress.summary())
cols = st.columns(len(review.STATUS_LABELS))
for col, (status, label) in zip(cols, review.STATUS_LABELS.items()):
    col.metric(label, progress.frames_by_status.get(status, 0))

review_tab, budget_tab = st.tabs(["Frames and shots", "Budget and rates"])

with review_tab:
    shown = st.pills("Show frames that are", list(review.STATUS_LABELS), selection_mode="multi",
                     default=list(review.STATUS_LABELS), format_func=lambda s: review.STATUS_LABELS[s],
                     key=f"review-filter-{video_id}")
    drafts = [f.frame_id for s in video.shots for f in s.frames if f.status == "draft"]
    if (drafts and st.button(f"Send {len(drafts)} draft frame(s) to review", icon=":material/send:")
            and ok(perform(rt, lambda s: review.set_status_many(s, "frame", drafts, "in_review", actor=actor),
                           success="Sent to review"))):
        st.rerun()

    def transition_form(subject_type: str, subject_id: int, status: str, key: str) -> None:
        moves = sorted(review.TRANSITIONS.get(status, ()))
        key = f"{key}-{status}"  # a new status gets fresh widgets, never a stale choice from the last one
        with st.form(key=key, border=False):
            target = st.selectbox("Move to", moves, format_func=lambda s: review.STATUS_LABELS[s],
                                  key=f"{key}-to")
            note = st.text_input("Comment (needed for 'Needs changes' and unlocking)", key=f"{key}-note")
            if st.form_submit_button("Apply"):
                done = perform(rt, lambda s: review.set_status(s, subject_type, subject_id, target, actor=actor,
                                                               comment=note or None),
                               success=f"Now {review.STATUS_LABELS[target]}")
                if ok(done):
                    st.rerun()

    for shot in video.shots:
        frames = [f for f in shot.frames if f.status in (shown or [])]
        with st.container(border=True):
            head, badge = st.columns([4, 1])
            head.subheader(f"Shot {shot.position}")
            badge.badge(review.STATUS_LABELS[shot.status], color=STATUS_COLOURS[shot.status])  # type: ignore[arg-type]
            show_text(shot.narration, key=f"narr-{shot.shot_id}")
            for direction in shot.directions:
                st.caption(f":material/videocam: {escape_markdown(direction)}")
            relaxed = review.clip_gate_relaxed(rt.settings)  # the Clips page's rule, the render queue's too
            reason = shot.clip_block_reason(relax=relaxed)
            st.caption(f"Clip: {reason}" if reason else "Clip: may be rendered " + (
                "(clips from unapproved frames are allowed)" if relaxed else "(all frames approved)"))
            for frame in frames:
                left, right = st.columns([1, 2])
                if frame.image_path is not None:
                    left.image(str(frame.image_path), width="stretch")
                else:
                    left.caption("No image yet")
                with right:
                    st.badge(f"Frame {frame.position} · {review.STATUS_LABELS[frame.status]}",
                             color=STATUS_COLOURS[frame.status])  # type: ignore[arg-type]
                    show_text(frame.scene_text, key=f"scene-{frame.frame_id}")
                    st.caption(escape_markdown(frame.prompt) or "no prompt yet")
                    for c in frame.comments:
                        st.markdown(f"**{escape_markdown(c.author)}** · {relative_time(c.at)}  \n"
                                    f"{escape_markdown(c.body)}")
                    with st.expander("Change status or comment"):
                        transition_form("frame", frame.frame_id, frame.status, f"rv-frame-{frame.frame_id}")
                        with st.form(key=f"cm-frame-{frame.frame_id}", border=False):
                            body = st.text_input("Add a comment", key=f"cm-frame-{frame.frame_id}-body")
                            if st.form_submit_button("Comment") and ok(perform(
                                    rt, lambda s, fid=frame.frame_id, text=body: review.add_comment(
                                        s, "frame", fid, text, author=actor),
                                    success="Comment added")):
                                st.rerun()
            for c in shot.comments:
                st.markdown(f"**{escape_markdown(c.author)}** · {relative_time(c.at)}  \n{escape_markdown(c.body)}")
            with st.expander(f"Review shot {shot.position}"):
                transition_form("shot", shot.shot_id, shot.status, f"rv-shot-{shot.shot_id}")

with budget_tab:
    a, b, c = st.columns(3)
    a.metric("Budget", f"${budget.budget_usd:,.2f}" if budget.budget_usd is not None else "none")
    b.metric("Spent on this script", f"${budget.spent_usd:,.2f}",
             help="What the API reported per job, else the rate card's price")
    c.metric("Queued or rendering", f"${budget.committed_usd:,.2f}")
    if budget.fraction is not None:
        st.progress(min(budget.fraction, 1.0), text=f"{budget.fraction:.0%} of the budget used or committed")
    if budget.level == "warning":
        st.warning("Over 80 % of this script's budget is used: batches that would pass it will be refused.")
    elif budget.level == "exhausted":
        st.error("This script's budget is used up: no new batch will be queued until it is raised.")
    st.caption(f"This video: ${video_spend.usd:,.2f} over {video_spend.jobs} completed job(s)"
               + (f" · ${per_second:,.3f} per approved clip second" if per_second is not None else ""))
    with st.form("budget-form"):
        new_budget = st.number_input("Budget for this script (USD, 0 = no budget)", min_value=0.0, step=5.0,
                                     value=float(budget.budget_usd or 0.0))
        if st.form_submit_button("Save budget", disabled=not may_admin) and ok(perform(
                rt, lambda s: cost.set_budget(s, file_id, new_budget or None, actor=actor), success="Budget saved")):
            st.rerun()

    st.subheader("Rate card")
    st.caption("Price per image, or per second of clip. Edits are kept in the database, shared by every studio "
               "and worker; the estimate endpoint updates them when the Higgs key is set.")
    st.dataframe([{"model": r.model, "unit": r.unit, "credits": r.credits, "usd": r.usd, "source": r.source}
                  for r in card.rates.values()], hide_index=True, width="stretch")
    if may_admin and rt.settings.higgs_credentials is not None and st.button(
            "Refresh prices from the Higgs API", icon=":material/sync:"):
        from core.higgs import client_from_settings

        try:
            client = client_from_settings(rt.settings, max_attempts=2)
            try:
                with session_scope(rt.sessions) as session:
                    outcome = cost.refresh_configured_rates(
                        session, client, image_model=rt.settings.higgs_image_model,
                        video_model=rt.settings.higgs_video_model, clip_seconds=rt.settings.clip_duration_s,
                        aspect_ratio=rt.settings.aspect_ratio, actor=actor)
            finally:
                client.close()
            state.flash("; ".join(f"{m}: {r}" for m, r in outcome.items()), icon=":material/sync:")
            st.rerun()
        except StudioError as err:
            st.error(str(err))
    with st.form("rate-form"):
        model = st.text_input("Model", value=rt.settings.higgs_video_model)
        unit = st.radio("Priced per", ["image", "clip_second"], horizontal=True)
        credits = st.number_input("Credits", min_value=0.0, step=0.1)
        usd = st.number_input("USD", min_value=0.0, step=0.01, format="%.4f")
        if st.form_submit_button("Save rate", disabled=not may_admin):
            try:
                with session_scope(rt.sessions) as session:
                    cost.set_rate(session, model, unit=unit, credits=credits, usd=usd,  # type: ignore[arg-type]
                                  actor=actor)
                state.flash(f"Rate for {model} saved")
                st.rerun()
            except StudioError as err:
                st.error(str(err))
