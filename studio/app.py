"""Entry point: `streamlit run studio/app.py`. A router of pages; each page lives in pages/."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so `core` and `studio` import without an install
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="Course Visual Studio", page_icon=":material/movie:", layout="wide")

PAGES = ROOT / "pages"
nav = st.navigation(
    [
        st.Page(PAGES / "library.py", title="Library", icon=":material/library_books:", url_path="library",
                default=True),
    ]
)
nav.run()
