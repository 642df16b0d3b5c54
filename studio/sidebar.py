"""The sidebar's script → video pickers, shared by every page. Ids live in session state and the address bar."""

from __future__ import annotations

import streamlit as st

from core.runtime import Runtime
from studio import state
from studio.board import BoardView, current_storyboard_id, load_board
from studio.queries import Option, script_options, video_options


def _index(options: list[Option], wanted: int | None) -> int:
    for i, opt in enumerate(options):
        if opt.id == wanted:
            return i
    return 0


def _pick(label: str, options: list[Option], current: int | None, *, key: str) -> int:
    """A sidebar selectbox over option ids, shown by their labels, starting on `current` (else the first)."""
    labels = {o.id: o.label for o in options}
    picked: int = st.sidebar.selectbox(
        label, [o.id for o in options], index=_index(options, current),
        format_func=lambda i: labels.get(i, str(i)), key=key,
    )
    return picked


def draw_pickers(runtime: Runtime) -> None:
    """Pick a script and one of its videos; fall back to the first ones when the chosen ids are gone."""
    with runtime.sessions() as session:
        scripts = script_options(session)
        current_script = state.script_id()
        if not scripts:
            state.choose(script=None, video=None)
            st.sidebar.caption("No scripts yet: upload one in the Library.")
            return
        picked = _pick("Script", scripts, current_script, key=f"{state.SCRIPT_PICKER}-{current_script}")
        videos = video_options(session, picked)
    current_video = state.video_id() if picked == current_script else None
    if not videos:
        state.choose(script=picked, video=None)
        st.sidebar.caption("This script has no videos.")
        return
    video = _pick("Video", videos, current_video, key=f"{state.VIDEO_PICKER}-{picked}-{current_video}")
    state.choose(script=picked, video=video)


def require_video() -> int:
    """The chosen video id, or a pointer to the Library and a stop (pages below need a video)."""
    vid = state.video_id()
    if vid is None:
        st.info("Choose a script and a video in the sidebar, or upload a script in the Library first.",
                icon=":material/arrow_back:")
        st.page_link(state_library_page(), label="Open the Library", icon=":material/library_books:")
        st.stop()
    return vid


def require_board(runtime: Runtime) -> tuple[int, BoardView]:
    """The chosen video and its current storyboard, or a warning and a stop (pages below need frames)."""
    video_id = require_video()
    with runtime.sessions() as session:
        board_id = current_storyboard_id(session, video_id)
        board = load_board(session, board_id, runtime.assets) if board_id is not None else None
    if board is None:
        st.warning("This video has no storyboard yet: build one on the Storyboard page.")
        st.stop()
    return video_id, board


def state_library_page() -> str:
    from studio.actions import PAGES_DIR

    return str(PAGES_DIR / "library.py")
