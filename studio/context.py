"""The studio's shared runtime: one Engine per process (cached), settings from env + secrets.

The background worker (renders queued jobs) starts once per process, next to the engine. Tests that drive
the worker themselves set `STUDIO_BACKGROUND_WORKER=0`.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil

import streamlit as st

from core.runtime import Runtime, open_runtime


@st.cache_resource(show_spinner=False)
def get_runtime() -> Runtime:
    return open_runtime()


_heap_settled = False


def settle_heap() -> None:
    """Once per process: import every studio module, then move what is alive into the GC's permanent generation.

    Why: a full collection walks every tracked object: here ~200k of them, almost all module-level (functions,
    classes, tuples of Streamlit, SQLAlchemy, pandas, PIL, the studio), which live as long as the process. With
    Streamlit's default of one after every script run (`runner.postScriptGC`, off in our config.toml) and 20 tabs
    open, those collections held the GIL most of the time and every page waited on them. Frozen objects are
    skipped by the collector, so Python's own full collections (or a post-run one, where a deployment turns it
    back on) walk only what runs and sessions created since.
    """
    global _heap_settled
    if _heap_settled:
        return
    _heap_settled = True
    import studio

    for mod in pkgutil.iter_modules(studio.__path__):  # the pages' imports, so they are frozen too
        if mod.name != "app":  # the entry point is a script: importing it would draw the app a second time
            importlib.import_module(f"studio.{mod.name}")
    gc.collect()  # what is garbage now is collected, not frozen
    gc.freeze()


def background_worker_enabled() -> bool:
    return os.environ.get("STUDIO_BACKGROUND_WORKER", "1").strip().lower() not in ("0", "false", "no", "off")


def ensure_worker(runtime: Runtime) -> None:
    """Start the in-process render worker (core keeps one per process and restarts a dead one), unless disabled."""
    if background_worker_enabled():
        from core.jobs import ensure_background_worker

        ensure_background_worker(runtime)
