"""The studio's safe defaults, enforced by the app itself (not only by a config file in the working directory).

- Without sign-in (no `[auth]` section) the studio is a single-user tool with producer and admin rights for
  whoever reaches it, so it serves only on the loopback interface: started on any other address it draws a refusal
  and nothing else (no script, no job, no worker), as `python -m core serve` refuses a public bind without a token.
- Usage statistics are never sent: the option is forced off at the first script run (and
  `studio/.streamlit/config.toml` keeps it off from the start, whatever the working directory).
"""

from __future__ import annotations

import streamlit as st
from streamlit import config as st_config

from core.cli.serve_cmd import LOOPBACK_HOSTS


def exposure_problem(address: str | None, *, sign_in: bool) -> str | None:
    """Why serving on `address` is refused, or None. An empty address means every interface."""
    if sign_in:
        return None
    host = (address or "").strip().strip("[]")
    if host in LOOPBACK_HOSTS:
        return None
    shown = host or "every interface"
    return (f"This studio is listening on {shown} without sign-in, so anyone who can reach it would act as "
            "producer and admin; it refuses to serve. Start it with --server.address 127.0.0.1, or configure "
            "sign-in (an [auth] section in .streamlit/secrets.toml) for a shared server.")


def enforce(*, sign_in: bool) -> None:
    """Run at the top of every script run: statistics off; refuse a non-loopback address without sign-in."""
    if st_config.get_option("browser.gatherUsageStats"):
        st_config.set_option("browser.gatherUsageStats", False)
    problem = exposure_problem(st_config.get_option("server.address"), sign_in=sign_in)
    if problem is not None:
        st.error(problem, icon=":material/lock:")
        st.stop()
