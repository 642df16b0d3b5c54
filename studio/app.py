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
from streamlit.navigation.page import StreamlitPage

from studio import auth, nav, page_runs, safe_defaults, state, widgets

# The tab icon is drawn here, not named: a `:material/…:` or emoji icon makes the browser fetch it from a web font
# or emoji service, which fails offline (nothing the studio needs comes from the internet).
# The sidebar starts open, except on a window of at most 768 px, where it starts collapsed ("auto": Streamlit's
# frontend compares the window width with its theme's fixed `md` breakpoint, 768 px, which no option moves; a
# producer's own open/close choice is remembered by the browser and wins).
st.set_page_config(page_title="Course Visual Studio", page_icon=widgets.tab_icon(), layout="wide",
                   initial_sidebar_state="auto")
widgets.install_css()

# Loopback only without sign-in, and no usage statistics, whatever the working directory or config file says.
safe_defaults.enforce(sign_in=auth.auth_configured())

# Every page has its own address, the Library too (`/library`): the default page Streamlit serves at `/` has no
# other address, so `/` is a hidden page that moves on to the Library, keeping the query (script and video).
SECTIONS = nav.sections()
LIBRARY = SECTIONS["Write"][0]


def _home() -> None:
    st.switch_page(LIBRARY, query_params=dict(st.query_params))


def _navigation() -> StreamlitPage:
    """The router, hidden: the sidebar shows our own links (studio/nav.py), which carry the script and video."""
    home = st.Page(_home, title="Course Visual Studio", url_path="home", default=True, visibility="hidden")
    return st.navigation({"": [home], **SECTIONS}, position="hidden")


# The page frame comes first, so a first load is never blank while this process opens its database (migrations)
# and starts its worker: the local tool draws the navigation at once (its links carry the ids in the address
# bar); with sign-in the navigation waits for the gate (someone not let in sees no page), and a line says the
# studio is opening.
local = not auth.auth_configured()
links = nav.SidebarNav(SECTIONS)
router = _navigation() if local else None
if router is not None:
    links.draw(state.query_ids())
opening = st.empty()
opening.caption(":material/hourglass_top: Opening the studio…")

# Imported after the frame is drawn: the first run of a process imports the database layer (about 2 s on a busy
# machine), and the browser shows the navigation meanwhile.
from studio.context import ensure_worker, get_runtime, settle_heap  # noqa: E402
from studio.server_tuning import tune_server  # noqa: E402
from studio.sidebar import draw_pickers  # noqa: E402

# Sign-in and roles come next: someone not let in sees no page, no script and no worker. This also names the
# acting person for every core call of this run (core refuses what their role may not do).
try:
    _settings = get_runtime().settings
except Exception as err:  # noqa: BLE001 - shown in words, never a trace
    opening.empty()
    widgets.show_error(err)
    st.stop()
auth.gate(_settings)
if router is None:
    router = _navigation()
    links.draw(state.query_ids())

state.restore_from_query()
with page_runs.drawing(), widgets.guarded():
    try:
        runtime = get_runtime()
        settle_heap()
        tune_server()
        ensure_worker(runtime)
    finally:
        opening.empty()
    draw_pickers(runtime)
    links.draw(state.chosen_ids())  # redrawn only if the pickers chose other ids than the address bar's
    state.show_flash()
    router.run()
