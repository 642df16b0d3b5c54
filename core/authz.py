"""Who may do what: roles from settings (by e-mail), permissions checked at the top of every core entry point.

The current person is a `ContextVar`. Its default is `LOCAL_PRINCIPAL` (producer + admin), so the CLI, the
worker, the API and the tests keep working as the single-user local tool. The studio, when sign-in is configured,
sets the signed-in person for each script run; a refused call raises `GateError(category="forbidden")` before it
writes anything.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from core.errors import GateError
from core.settings import Settings


class Role(str, Enum):
    PRODUCER = "producer"
    REVIEWER = "reviewer"
    ADMIN = "admin"


Permission = Literal["refine", "render", "edit", "review", "admin"]

# What each role may do. A person with several roles may do the union.
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.PRODUCER: frozenset({"refine", "render", "edit", "review"}),
    Role.REVIEWER: frozenset({"review"}),
    Role.ADMIN: frozenset({"admin"}),
}

# Said to a person who was refused: what the action is, in words.
_ACTIONS: dict[str, str] = {
    "refine": "refine prompts (it may cost money)",
    "render": "start renders (they cost money)",
    "edit": "change scripts, storyboards, prompts or takes",
    "review": "review (approve, request changes or comment)",
    "admin": "change settings, budgets or the rate card",
}


@dataclass(frozen=True)
class Principal:
    """A person acting in the studio. `local` is the single-user tool with no sign-in."""

    email: str
    name: str
    roles: frozenset[Role]
    local: bool = False

    def can(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS[role] for role in self.roles)

    @property
    def role_label(self) -> str:
        """The roles in words, most powerful first: "producer + admin", "reviewer"."""
        order = [Role.PRODUCER, Role.REVIEWER, Role.ADMIN]
        return " + ".join(role.value for role in order if role in self.roles)


LOCAL_PRINCIPAL = Principal(email="local", name="local", roles=frozenset({Role.PRODUCER, Role.ADMIN}), local=True)


def parse_patterns(value: str) -> list[str]:
    """Comma-separated e-mails or "*@domain" patterns, lower-cased, blanks dropped."""
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def email_matches(email: str, patterns: Iterable[str]) -> bool:
    """An exact address, or "*@domain" for everyone at that domain (not its subdomains)."""
    address = email.strip().lower()
    if "@" not in address:
        return False
    domain = address.rsplit("@", 1)[1]
    for pattern in patterns:
        if pattern.startswith("*@"):
            if domain == pattern[2:]:
                return True
        elif address == pattern:
            return True
    return False


def principal_for(email: str | None, name: str | None, settings: Settings) -> Principal | None:
    """The signed-in person with their roles, or None when their address is in no list (not allowed in)."""
    if not email:
        return None
    lists = {
        Role.PRODUCER: settings.auth_producers,
        Role.REVIEWER: settings.auth_reviewers,
        Role.ADMIN: settings.auth_admins,
    }
    roles = frozenset(role for role, value in lists.items() if email_matches(email, parse_patterns(value)))
    if not roles:
        return None
    return Principal(email=email.strip().lower(), name=(name or "").strip() or email, roles=roles)


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("studio_principal", default=None)
_resolver: Callable[[], Principal | None] | None = None


def set_principal_resolver(
    resolver: Callable[[], Principal | None] | None,
) -> Callable[[], Principal | None] | None:
    """Where to find the person when nobody was set in this context (the studio: a widget callback or a fragment
    rerun on a fresh thread). The resolver returns None outside a UI run, so workers and the CLI stay local.
    Returns the resolver it replaces."""
    global _resolver
    previous, _resolver = _resolver, resolver
    return previous


def current_principal() -> Principal:
    principal = _current.get()
    if principal is not None:
        return principal
    if _resolver is not None:
        resolved = _resolver()
        if resolved is not None:
            return resolved
    return LOCAL_PRINCIPAL


def set_principal(principal: Principal) -> contextvars.Token[Principal | None]:
    """Make `principal` the current person in this context (the studio does it at the top of every run)."""
    return _current.set(principal)


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Run a block as `principal`, then restore whoever was current before."""
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


def acting_name(claimed: str = "") -> str:
    """The one rule for who is recorded as having done something (activity, comments, prompt versions, jobs).

    A signed-in person is recorded by e-mail whatever name the caller passed: the pages pass the configured
    author name, and a stored "producer" beside a signed-in reviewer's approval would say something that is not
    so. Without sign-in (the local tool, the CLI, the worker, the API) the caller's name stands (the author
    name, `--actor`, "api"), else "local"."""
    principal = current_principal()
    if not principal.local:
        return principal.email
    return (claimed or "").strip() or principal.email


def require(permission: Permission) -> Principal:
    """The current person, if they may do `permission`; otherwise a refusal they can read. Call before writing."""
    principal = current_principal()
    if not principal.can(permission):
        raise GateError(
            f"{principal.email} is signed in as {principal.role_label or 'no role'} and may not "
            f"{_ACTIONS[permission]}. Ask a studio admin if you need this.",
            category="forbidden",
        )
    return principal
