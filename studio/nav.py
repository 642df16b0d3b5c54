"""The sidebar navigation: our own page links, so every link carries the chosen script and video.

Streamlit's own sidebar navigation links to bare addresses (`/storyboard`): opened in a new tab they lose
`?script=…&video=…` and the new tab falls back to the first script. `st.navigation` stays the router (hidden), and
the sidebar shows one `st.page_link` per page, each with the ids in its address; a click switches page in the
same tab, a middle-click opens the same script and video in a new one. Kept small (it is drawn on every run of
every tab): a caption per section and plain links, no query.

`SidebarNav.draw` is called twice a run: early, from the address bar (the frame shows before the database layer
is imported), and after the sidebar pickers, redrawing in the same place only if they chose other ids.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.navigation.page import StreamlitPage

from studio import state

PAGES = Path(__file__).resolve().parent.parent / "pages"
KEY = "studio-nav"  # the container's CSS class is `st-key-studio-nav` (browser tests find the links in it)

Ids = tuple[int | None, int | None]  # (script, video)


def _page(name: str, title: str, icon: str) -> StreamlitPage:
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=name)


def sections() -> dict[str, list[StreamlitPage]]:
    """The studio's pages by section, in the order the sidebar lists them: made each run and given both to the
    router (`st.navigation`) and to the links (a link must name a page the router knows)."""
    return {
        "Write": [
            _page("library", "Library", ":material/library_books:"),
            _page("storyboard", "Storyboard", ":material/view_module:"),
            _page("prompts", "Prompts", ":material/edit_note:"),
        ],
        "Render": [
            _page("images", "Images", ":material/photo_library:"),
            _page("clips", "Clips", ":material/movie:"),
            _page("jobs", "Jobs", ":material/queue:"),
        ],
        "Deliver": [
            _page("review", "Review", ":material/rate_review:"),
            _page("exports", "Exports", ":material/ios_share:"),
        ],
        "Studio": [
            _page("settings", "Settings", ":material/settings:"),
        ],
    }


def link_query(ids: Ids) -> dict[str, str]:
    """The query every link carries: the ids that are chosen (none when nothing is)."""
    script, video = ids
    query = {}
    if script is not None:
        query[state.QUERY_SCRIPT] = str(script)
    if video is not None:
        query[state.QUERY_VIDEO] = str(video)
    return query


class SidebarNav:
    """The links in one sidebar placeholder, redrawn only when the ids they carry change."""

    def __init__(self, sections: dict[str, list[StreamlitPage]]) -> None:
        self.sections = sections
        self._slot: DeltaGenerator | None = None
        self._drawn: Ids | None = None

    def draw(self, ids: Ids) -> None:
        if self._slot is None:  # the keyed container once a run (a key may not repeat), the links in its slot
            self._slot = st.sidebar.container(key=KEY).empty()
        if ids == self._drawn:
            return
        self._drawn = ids
        query = link_query(ids)
        with self._slot.container(gap=None):
            for title, pages in self.sections.items():
                st.caption(title)
                for page in pages:
                    st.page_link(page, query_params=query, width="stretch")
