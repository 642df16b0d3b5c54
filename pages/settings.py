"""Settings: what the studio runs with (never the keys themselves), and a check of the configured models."""

from __future__ import annotations

import streamlit as st

from studio import auth, widgets
from studio.context import get_runtime
from studio.cast_panel import model_note
from studio.model_check import check_models
from studio.widgets import escape_markdown

rt = get_runtime()
cfg = rt.settings
summary = cfg.public_summary()  # secrets appear only as "set" / "not set"
st.title("Settings")
person = auth.current(cfg)
if person.local:
    st.info("Sign-in is off: this is a single-user local tool bound to 127.0.0.1 (only this computer can open "
            "it), and you act as the local producer + admin. To share the studio with a team, configure an "
            "`[auth]` section (OpenID Connect) in `.streamlit/secrets.toml` and the role lists `AUTH_PRODUCERS`, "
            "`AUTH_REVIEWERS` and `AUTH_ADMINS`. Change settings in `.streamlit/secrets.toml` or environment "
            "variables, then restart.", icon=":material/lock:")
else:
    st.info(f"Sign-in is on (OpenID Connect). You are signed in as {escape_markdown(person.email)} with the role "
            f"**{person.role_label}**. Change settings in `.streamlit/secrets.toml` or environment variables, "
            "then restart.", icon=":material/verified_user:")
if person.can("admin") and not person.local:  # who may do what: the lists, for the admins who keep them
    roles = st.columns(3)
    for col, (title, value) in zip(roles, (("Producers", cfg.auth_producers), ("Reviewers", cfg.auth_reviewers),
                                            ("Admins", cfg.auth_admins))):
        col.markdown(f"**{title}**")
        col.caption(escape_markdown(value) if value.strip() else "nobody")

st.subheader("Providers")
c1, c2 = st.columns(2)
with c1.container(border=True):
    st.markdown(f"**Prompts:** `{cfg.active_refiner}`")
    st.caption(f"OpenAI key: {summary['openai_api_key']} · model `{cfg.openai_model}` · "
               f"{cfg.refine_concurrency} at a time")
    if cfg.active_refiner == "offline":
        st.caption("Offline prompts are built from the scene text and style bible on this computer, at no cost.")
with c2.container(border=True):
    higgs_key = "set" if cfg.higgs_credentials else "not set"
    st.markdown(f"**Images and clips:** `{cfg.active_renderer}`")
    st.caption(f"Higgsfield key: {higgs_key} · image model `{cfg.higgs_image_model}` · "
               f"clip model `{cfg.higgs_video_model}` · {cfg.render_concurrency} at a time")
    if cfg.active_renderer == "offline":
        st.caption("Offline renders are drawn locally (title cards and short clips) so the whole flow works "
                   "without a key.")
    model_note(cfg)  # which configured models take the cast's reference photos

st.subheader("Defaults and limits")
widgets.metrics((
    ("Shots per video", cfg.shots_per_video), ("Frames per shot", cfg.frames_per_shot),
    ("Clip length", f"{cfg.clip_duration_s} s"), ("Aspect ratio", cfg.aspect_ratio),
    ("Largest upload", f"{cfg.max_upload_mb:g} MB"), ("Largest unpacked script", f"{cfg.max_uncompressed_mb:g} MB"),
    ("Largest download", f"{cfg.max_download_mb:g} MB"), ("Clip deadline", f"{cfg.clip_deadline_s / 60:g} min"),
))  # wraps at 800 px instead of cutting the labels
st.caption(f"Data folder `{summary['studio_data_dir']}` · database `{summary['database']}` · "
           f"comments signed as **{cfg.author_name}**")

st.subheader("Model check")
st.caption("Asks Higgsfield which models this account may use and compares them with the configured ones.")
if st.button("Check models", icon=":material/fact_check:", disabled=cfg.higgs_credentials is None,
             help=None if cfg.higgs_credentials else "Set HF_KEY (or HF_API_KEY and HF_API_SECRET) first."):
    with st.spinner("Asking Higgsfield…"):
        report = check_models(cfg)
    for line in report.lines:
        (st.warning if line.note else st.success if line.ok else st.error)(line.message)
if cfg.higgs_credentials is None:
    st.caption("No Higgsfield key is set, so the check is off; offline rendering needs no models.")

with st.expander("Every setting (secrets hidden)"):
    st.json(summary)
