"""Running a producer's action: one unit of work, errors shown in words, a toast on the next run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from core.db import session_scope
from core.runtime import Runtime
from studio import state
from studio.widgets import show_error

T = TypeVar("T")
PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"


class _Failed:
    """Marks an action that failed (its message is already on the page)."""


FAILED = _Failed()


def perform(runtime: Runtime, action: Callable[[Session], T], *, success: str | None = None) -> T | _Failed:
    """Run `action` in one transaction (all or nothing). On error the page shows why and FAILED is returned."""
    try:
        with session_scope(runtime.sessions) as session:
            result = action(session)
    except Exception as err:  # noqa: BLE001 - shown in words, never a trace
        show_error(err)
        return FAILED
    if success:
        state.flash(success)
    return result


def ok(result: object) -> bool:
    return not isinstance(result, _Failed)


def go(page: str) -> None:
    """Open another page (by file stem), keeping the chosen script and video in the address bar."""
    params = {k: str(v) for k, v in ((state.QUERY_SCRIPT, state.script_id()), (state.QUERY_VIDEO, state.video_id()))
              if v is not None}
    st.switch_page(PAGES_DIR / f"{page}.py", query_params=params)
