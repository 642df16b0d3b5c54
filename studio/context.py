"""The studio's shared runtime: one Engine per process (cached), settings from env + secrets."""

from __future__ import annotations

import streamlit as st

from core.runtime import Runtime, open_runtime


@st.cache_resource(show_spinner=False)
def get_runtime() -> Runtime:
    return open_runtime()
