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
from studio.review_focus import draw_review_frames
from studio.sidebar import require_video
from studio.widgets import escape_markdown, metrics

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
st.caption(f"Video {video.number} · {escape_markdown(video.title)} · reviewing as **{escape_markdown(actor)}**")
st.progress(progress.fraction, text=progress.summary())
st.markdown(" · ".join(f"{label} **{progress.frames_by_status.get(status, 0)}**"  # one line, never cut
                       for status, label in review.STATUS_LABELS.items()))

review_tab, budget_tab = st.tabs(["Frames and shots", "Budget and rates"])

with review_tab:
    shown = st.pills("Show frames that are", list(review.STATUS_LABELS), selection_mode="multi",
                     default=list(review.STATUS_LABELS), format_func=lambda s: review.STATUS_LABELS[s],
                     key=f"review-filter-{video_id}", wrap=True)
    draw_review_frames(rt, video, list(shown or []), actor=actor, may_review=auth.can(rt.settings, "review"))

with budget_tab:
    metrics((
        ("Budget", f"${budget.budget_usd:,.2f}" if budget.budget_usd is not None else "none"),
        ("Spent on this script", f"${budget.spent_usd:,.2f}", "What the API reported per job, else the rate card's price"),
        ("Queued or rendering", f"${budget.committed_usd:,.2f}"),
    ))
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
            st.error(escape_markdown(str(err)))
    with st.form("rate-form"):
        model = st.text_input("Model", value=rt.settings.higgs_video_model)
        unit = st.radio("Priced per", ["image", "clip_second", "character"], horizontal=True,
                        help="character: a voice, per character spoken (0.000012 is $12 per million)")
        credits = st.number_input("Credits", min_value=0.0, step=0.1)
        usd = st.number_input("USD", min_value=0.0, step=0.01, format="%.6f")
        if st.form_submit_button("Save rate", disabled=not may_admin):
            try:
                with session_scope(rt.sessions) as session:
                    cost.set_rate(session, model, unit=unit, credits=credits, usd=usd,  # type: ignore[arg-type]
                                  actor=actor)
                state.flash(f"Rate for {model} saved")
                st.rerun()
            except StudioError as err:
                st.error(escape_markdown(str(err)))
