"""Session-state keys, in one place. Session state holds ids and UI flags only; the truth is in the database.

The chosen script and video are mirrored in `st.query_params` (`?script=3&video=12`), so a reload or a second
tab opened from the same address shows the same script and video.
"""

from __future__ import annotations

import streamlit as st

# Ids shared by every page (set by the sidebar pickers).
SCRIPT_ID = "script_id"
VIDEO_ID = "video_id"

# Widget keys of the sidebar pickers (separate from the ids so a widget never owns the truth).
SCRIPT_PICKER = "pick_script"
VIDEO_PICKER = "pick_video"

# Per-page UI flags.
STORYBOARD_VERSION = "storyboard_version"  # an older storyboard id shown read-only, or None for the current one
GRID_EDITOR = "grid_editor"  # the data editor's widget key (its deltas live under this key)
GRID_SNAPSHOT = "grid_snapshot"  # {frame_id: lock_version} the editor was drawn from
GRID_PENDING = "grid_pending"  # a producer's unsaved text kept after a conflict
PROMPT_FRAME = "prompt_frame"  # the frame opened on the Prompts page
CONFIRM_CLIPS = "confirm_clips"  # "Render all shots" waits for a second click after the estimate
FLASH = "flash"  # a message to show once after a rerun (toast survives st.rerun poorly)

QUERY_SCRIPT = "script"
QUERY_VIDEO = "video"


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def query_ids() -> tuple[int | None, int | None]:
    """The (script, video) ids in the address bar, None where missing or not a number."""
    return _int_or_none(st.query_params.get(QUERY_SCRIPT)), _int_or_none(st.query_params.get(QUERY_VIDEO))


def chosen_ids() -> tuple[int | None, int | None]:
    """The (script, video) ids this session has chosen."""
    return script_id(), video_id()


def restore_from_query() -> None:
    """On a fresh session (reload, second tab), take the ids from the address bar."""
    script, video = query_ids()
    if SCRIPT_ID not in st.session_state:
        st.session_state[SCRIPT_ID] = script
    if VIDEO_ID not in st.session_state:
        st.session_state[VIDEO_ID] = video


def script_id() -> int | None:
    value = st.session_state.get(SCRIPT_ID)
    return value if isinstance(value, int) else None


def video_id() -> int | None:
    value = st.session_state.get(VIDEO_ID)
    return value if isinstance(value, int) else None


def choose(*, script: int | None, video: int | None) -> None:
    """Set the shared ids and mirror them in the address bar."""
    st.session_state[SCRIPT_ID] = script
    st.session_state[VIDEO_ID] = video
    _mirror(QUERY_SCRIPT, script)
    _mirror(QUERY_VIDEO, video)


def _mirror(name: str, value: int | None) -> None:
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def flash(message: str, icon: str = ":material/check_circle:") -> None:
    """Queue a toast for the next run (a toast drawn right before `st.rerun()` may never reach the browser)."""
    st.session_state[FLASH] = (message, icon)


def show_flash() -> None:
    pending = st.session_state.pop(FLASH, None)
    if pending:
        from studio.widgets import escape_markdown  # widgets imports nothing from here

        message, icon = pending
        st.toast(escape_markdown(message), icon=icon)  # messages may quote outside text (names, replies)
