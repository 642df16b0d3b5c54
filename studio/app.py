"""Entry point: `streamlit run studio/app.py`. A router of pages; each page lives in pages/.

Shared by every page: the cached runtime, the background worker (once per process), the Arabic-aware CSS,
the script → video pickers in the sidebar, and the error guard that keeps stack traces off the page.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so `core` and `studio` import without an install
    sys.path.insert(0, str(ROOT))

import streamlit as st

from studio import auth, state, widgets
from studio.context import ensure_worker, get_runtime, settle_heap
from studio.server_tuning import tune_server
from studio.sidebar import draw_pickers

st.set_page_config(page_title="Course Visual Studio", page_icon=":material/movie:", layout="wide")
widgets.install_css()

# Sign-in and roles come first: someone not let in sees no page, no script and no worker. This also names the
# acting person for every core call of this run (core refuses what their role may not do).
try:
    _settings = get_runtime().settings
except Exception as err:  # noqa: BLE001 - shown in words, never a trace
    widgets.show_error(err)
    st.stop()
auth.gate(_settings)

PAGES = ROOT / "pages"
nav = st.navigation(
    {
        "Write": [
            st.Page(PAGES / "library.py", title="Library", icon=":material/library_books:", url_path="library",
                    default=True),
            st.Page(PAGES / "storyboard.py", title="Storyboard", icon=":material/view_module:",
                    url_path="storyboard"),
            st.Page(PAGES / "prompts.py", title="Prompts", icon=":material/edit_note:", url_path="prompts"),
        ],
        "Render": [
            st.Page(PAGES / "images.py", title="Images", icon=":material/photo_library:", url_path="images"),
            st.Page(PAGES / "clips.py", title="Clips", icon=":material/movie:", url_path="clips"),
            st.Page(PAGES / "jobs.py", title="Jobs", icon=":material/queue:", url_path="jobs"),
        ],
        "Deliver": [
            st.Page(PAGES / "review.py", title="Review", icon=":material/rate_review:", url_path="review"),
            st.Page(PAGES / "exports.py", title="Exports", icon=":material/ios_share:", url_path="exports"),
        ],
        "Studio": [
            st.Page(PAGES / "settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
        ],
    }
)

state.restore_from_query()
with widgets.guarded():
    runtime = get_runtime()
    settle_heap()
    tune_server()
    ensure_worker(runtime)
    draw_pickers(runtime)
    state.show_flash()
    nav.run()
