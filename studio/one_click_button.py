"""The "Approve and render clip" button of a shot (Clips page and board), with its price beside it.

The rules are core's (`core.one_click`): who may, what it approves and queues. This module only draws the button,
or the reason it is not there, and reports what was queued.
"""

from __future__ import annotations

import streamlit as st

from core.errors import StudioError
from core.one_click import approve_and_render, estimate_shot, one_click_refusal
from core.runtime import Runtime
from studio import auth, state
from studio.actions import ok, perform
from studio.board import ShotView
from studio.widgets import escape_markdown

LABEL = "Approve and render clip"


def one_click_button(rt: Runtime, shot: ShotView, *, key: str) -> None:
    """The button and its estimate, or (for a person who may not use it) why not, as a caption."""
    cfg = rt.settings
    with rt.sessions() as session:
        refusal = one_click_refusal(session, shot.id)
        try:
            estimate = estimate_shot(session, shot.id, settings=cfg) if refusal is None else None
        except StudioError as err:  # the click would be refused the same way (a locked frame, no renderer)
            refusal, estimate = str(err), None
    if refusal is not None or estimate is None:
        st.caption(f":material/block: {escape_markdown(refusal or '')}")
        return
    busy = shot.chip in ("pending", "submitted", "running")
    clicked = st.button(LABEL, key=key, type="primary", icon=":material/task_alt:", disabled=busy, width="stretch",
                        help="Approves this shot's frames in your name, renders its missing images, then its clip.")
    st.caption(f"{estimate.summary()}" + (" · rendering now" if busy else ""))
    if clicked:
        actor = auth.actor_name(cfg)
        result = perform(rt, lambda s: approve_and_render(s, shot.id, settings=cfg, actor=actor))
        if ok(result):
            state.flash(result.summary(), icon=":material/movie:")  # type: ignore[union-attr]
            st.rerun()
