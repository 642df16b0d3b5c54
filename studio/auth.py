"""Sign-in: Streamlit's built-in OpenID Connect (`st.login`, `st.user`) when `[auth]` is configured in secrets.

Without an `[auth]` section the studio is a single-user local tool (bound to 127.0.0.1 by `.streamlit/config.toml`):
everyone is the local producer + admin. With it, a person must sign in, and their e-mail must be in one of the
role lists (`AUTH_PRODUCERS`, `AUTH_REVIEWERS`, `AUTH_ADMINS`). Core enforces the roles; this module only says who
is acting and draws the sign-in and not-allowed screens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.authz import (
    LOCAL_PRINCIPAL,
    Permission,
    Principal,
    acting_name,
    principal_for,
    set_principal,
    set_principal_resolver,
)
from core.settings import Settings
from studio.widgets import escape_markdown


def _no_secrets() -> bool:
    """True when no secrets were given at all: none loaded (or set, as AppTest does) and no secrets file exists.

    Why: with no secrets file, Streamlit caches nothing and tries to open every configured path again on each
    call; pages ask several times per run (every `can`), and under twenty tabs that showed in bench/load.py."""
    if getattr(st.secrets, "_secrets", None) is not None:
        return False
    from streamlit import config

    return not any(os.path.exists(path) for path in config.get_option("secrets.files"))


def auth_configured() -> bool:
    """True when the secrets have an `[auth]` section (then sign-in is required)."""
    if _no_secrets():
        return False
    try:
        return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)
    except Exception:  # noqa: BLE001 - an unreadable secrets file means no sign-in, as Streamlit itself treats it
        return False


def _providers() -> list[str | None]:
    """Named providers (`[auth.google]` …), or [None] for a single provider configured in `[auth]` itself."""
    section = st.secrets["auth"]
    named: list[str | None] = [str(k) for k, v in section.items() if isinstance(v, Mapping) and "client_id" in v]
    return named or [None]


def _user_claim(name: str) -> str | None:
    value = st.user.get(name)
    return str(value) if value else None


def signed_in() -> bool:
    return bool(st.user.get("is_logged_in"))


def signed_in_email() -> str | None:
    return _user_claim("email") if signed_in() else None


def principal(settings: Settings) -> Principal | None:
    """Who is acting in this run: the local principal without sign-in, the signed-in person with their roles,
    or None (not signed in, or in no role list)."""
    if not auth_configured():
        return LOCAL_PRINCIPAL
    return principal_for(signed_in_email(), _user_claim("name"), settings)


def current(settings: Settings) -> Principal:
    """The acting person, never None: someone not allowed in gets no roles (core refuses everything)."""
    found = principal(settings)
    return found or Principal(email=signed_in_email() or "anonymous", name="", roles=frozenset())


def can(settings: Settings, permission: Permission) -> bool:
    """Whether to show a control; core refuses anyway, this only keeps buttons a role cannot use off the page."""
    return current(settings).can(permission)


def actor_name(settings: Settings) -> str:
    """The name to sign comments with: the signed-in e-mail, or the configured author name locally (core's one
    rule, `core.authz.acting_name`, which core applies again to whatever a page passes)."""
    return acting_name(settings.author_name)


def _resolve_for_ui_thread() -> Principal | None:
    """For core calls in a UI thread that did not pass through the gate this run (a widget callback or a fragment
    rerun starts on a fresh thread). Outside a script run (worker, CLI) there is nobody: core stays local."""
    if get_script_run_ctx(suppress_warning=True) is None or not auth_configured():
        return None
    from studio.context import get_runtime

    return current(get_runtime().settings)


set_principal_resolver(_resolve_for_ui_thread)


def gate(settings: Settings) -> Principal:
    """Run at the top of every script run: set the acting person, or draw the sign-in / not-allowed screen and stop.

    Shows who is signed in, with their role and a "Sign out" button, in the sidebar.
    """
    if not auth_configured():
        set_principal(LOCAL_PRINCIPAL)
        return LOCAL_PRINCIPAL
    if not signed_in():
        set_principal(current(settings))
        _sign_in_screen()
        st.stop()
    person = principal(settings)
    if person is None:
        set_principal(current(settings))
        _not_allowed_screen(signed_in_email() or "(no e-mail address)")
        st.stop()
    set_principal(person)
    with st.sidebar:
        st.caption(f":material/account_circle: {escape_markdown(person.email)} · **{person.role_label}**")
        if st.button("Sign out", icon=":material/logout:", key="auth-sign-out"):
            st.logout()
    return person


def _sign_in_screen() -> None:
    st.title("Course Visual Studio")
    st.write("Sign in with your work account to open the studio.")
    for provider in _providers():
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        if st.button(label, icon=":material/login:", type="primary", key=f"auth-sign-in-{provider or 'default'}"):
            st.login(provider)


def _not_allowed_screen(email: str) -> None:
    st.title("Course Visual Studio")
    st.error(f"Your account {escape_markdown(email)} is not allowed in this studio; ask an admin to add it.",
             icon=":material/block:")
    if st.button("Sign out", icon=":material/logout:", key="auth-sign-out"):
        st.logout()
