"""The "Approve and render clip" button of a shot (Clips page and board), with its price beside it.

The rules are core's (`core.one_click`): who may, what it approves and queues. This module only draws the button,
or the reason it is not there, and reports what was queued.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session

from core.jobs.planning import Lookups
from core.money import Quote
from core.one_click import approve_and_render, offers
from core.runtime import Runtime
from studio import auth, state
from studio.actions import ok, perform
from studio.board import ShotView
from studio.widgets import escape_markdown

LABEL = "Approve and render clip"


def one_click_offers(rt: Runtime, video_id: int, shot_ids: list[int], *, session: Session | None = None,
                     lookups: Lookups | None = None) -> dict[int, Quote | str]:
    """Each shot's price or refusal, asked once per page run for all its buttons (`core.one_click.offers`); in
    the page's `session` with its `lookups` when it prices other things too."""
    if not shot_ids:
        return {}
    if session is not None:
        return offers(session, video_id, shot_ids, settings=rt.settings, lookups=lookups)
    with rt.sessions() as own:
        return offers(own, video_id, shot_ids, settings=rt.settings)


def one_click_button(rt: Runtime, shot: ShotView, offer: Quote | str | None, *, key: str) -> None:
    """The button and its estimate, or (for a person who may not use it) why not, as a caption. `offer` is the
    shot's entry of `one_click_offers`."""
    cfg = rt.settings
    if not isinstance(offer, Quote):
        st.caption(f":material/block: {escape_markdown(offer or '')}")
        return
    estimate = offer
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
