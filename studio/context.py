"""The studio's shared runtime: one Engine per process (cached), settings from env + secrets.

The background worker (renders queued jobs) starts once per process, next to the engine. Tests that drive
the worker themselves set `STUDIO_BACKGROUND_WORKER=0`.
"""

from __future__ import annotations

import os

import streamlit as st

from core.runtime import Runtime, open_runtime


@st.cache_resource(show_spinner=False)
def get_runtime() -> Runtime:
    return open_runtime()


def background_worker_enabled() -> bool:
    return os.environ.get("STUDIO_BACKGROUND_WORKER", "1").strip().lower() not in ("0", "false", "no", "off")


def ensure_worker(runtime: Runtime) -> None:
    """Start the in-process render worker (core keeps one per process and restarts a dead one), unless disabled."""
    if background_worker_enabled():
        from core.jobs import ensure_background_worker

        ensure_background_worker(runtime)
