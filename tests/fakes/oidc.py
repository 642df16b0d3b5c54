"""A local OpenID Connect provider for sign-in tests (`oidc-provider-mock`), on 127.0.0.1 and a free port.

Any client id and secret are accepted. At the authorize step the browser sees a form: type an address into the
"sub" box and press "Authorize" to sign in as that person (their `email` claim is the address), or press one of
the buttons of the predefined `users`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import werkzeug.serving
from oidc_provider_mock import User, app


@dataclass(frozen=True)
class OidcProvider:
    url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"


def person(email: str, name: str = "") -> User:
    """A predefined user whose `sub` is their e-mail address."""
    claims: dict[str, object] = {"email": email, "email_verified": True}
    if name:
        claims["name"] = name
    return User(sub=email, claims=claims)


class _QuietHandler(werkzeug.serving.WSGIRequestHandler):
    """No access log: the test output stays readable (and sign-in tokens stay out of it)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def oidc_provider(users: Sequence[User] = ()) -> Iterator[OidcProvider]:
    """Serve the provider in a background thread for the length of the block."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, app(user_claims=users), threaded=True,
                                         request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield OidcProvider(url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
