"""The "first five minutes" a producer reads on an empty Library (the README opens with the same steps)."""

from __future__ import annotations

import streamlit as st

FIRST_FIVE_MINUTES: tuple[tuple[str, str, str], ...] = (
    ("Upload", ":material/upload_file:",
     "Upload the Word script above. Each video starts at a header such as \"Video 1: …\" or \"الفيديو الأول\"."),
    ("Board", ":material/view_module:",
     "Open a video: the Storyboard shows its shots as rows of frames beside the narration. Fix scene text in "
     "\"Edit scene text\"."),
    ("Prompts", ":material/edit_note:",
     "On Prompts, \"Refine all\" writes an image prompt for every frame (offline and free without an OpenAI key)."),
    ("Images", ":material/photo_library:",
     "On Images, \"Render all missing images\"; re-roll a frame you do not like and pick the take."),
    ("Approve and render clips", ":material/movie:",
     "On Clips, \"Approve and render clip\" approves a shot's frames in your name and renders its clip, the price "
     "beside it. Reviewers go through frames on Review (A approves, N sends back, ← → move)."),
    ("Export", ":material/ios_share:",
     "On Exports, download the shot list, PDF, captions, animatic or an archive of the whole script."),
)


def first_five_minutes() -> None:
    """The steps as a numbered list in a bordered box (static text: nothing from outside)."""
    with st.container(border=True, key="first-five-minutes"):
        st.markdown("**Your first five minutes**")
        st.markdown("\n".join(f"{n}. {icon} **{title}**: {text}"
                              for n, (title, icon, text) in enumerate(FIRST_FIVE_MINUTES, start=1)))
