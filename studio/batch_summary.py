"""Drawing a "render all" pre-check (`core.batch_check`) as one summary, and the toast after a batch."""

from __future__ import annotations

import streamlit as st

from core.batch_check import BatchCheck
from core.jobs import RenderBatch
from studio.widgets import escape_markdown


def draw_batch_check(check: BatchCheck) -> None:
    """One bordered summary: the headline, the reasons (at most five), the budget's word when money is involved."""
    with st.container(border=True, key=f"batch-check-{check.kind}"):
        icon = ":material/check_circle:" if check.admitted else ":material/info:"
        st.markdown(f"{icon} **{escape_markdown(check.headline())}**")
        if check.blocked:
            st.caption("  \n".join(escape_markdown(line) for line in check.reasons()))
        if check.budget_note:
            st.caption(f":material/savings: {escape_markdown(check.budget_note)}")
        if not check.ready:
            st.caption("Nothing to render yet." if check.blocked else "Everything is up to date.")


def batch_toast(batch: RenderBatch, kind: str) -> str:
    """What a batch did, for the toast after it: "Queued 2 clip(s) and the 4 image(s) they start from; 1 skipped."."""
    noun = "clip(s)" if kind == "clip" else "image(s)"
    parts = [f"Queued {batch.created} {noun}" if batch.created else f"No new {noun} to queue"]
    waits = {d for j in batch.jobs for d in (j.depends_on or [])} if kind == "clip" else set()
    if waits:
        parts[0] += f" and the {len(waits)} image(s) they start from"
    already = len(batch.jobs) - batch.created
    if already:
        parts.append(f"{already} already on the way or done")
    if batch.skipped:
        parts.append(f"{len(batch.skipped)} skipped")
    return "; ".join(parts) + "."
