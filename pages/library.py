"""Library: the ingested scripts and their videos."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from core.models import SourceFile
from studio.context import get_runtime

rt = get_runtime()
st.title("Library")
with rt.sessions() as session:
    files = session.scalars(select(SourceFile).order_by(SourceFile.created_at.desc())).all()
    if not files:
        st.info("No scripts yet. Ingest a Word script to start.")
    for f in files:
        with st.container(border=True):
            st.subheader(f.title or f.original_name)
            st.caption(f"{len(f.videos)} videos · {f.original_name}")
            for v in f.videos:
                st.write(f"{v.number}. {v.title}")
