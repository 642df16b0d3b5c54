"""Bearer-token check for every request, done before routing so no body is read for a stranger.

A pure ASGI middleware rather than a dependency: FastAPI parses a request body (a 50 MB upload) before it
solves dependencies, and unknown paths never reach a dependency at all. The comparison is constant-time.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from core.api.errors import error_response


def token_matches(header: str | None, token: str) -> bool:
    """Whether an `Authorization` header value carries `token` as a bearer token (constant-time)."""
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode("utf-8"), token.encode("utf-8"))


class BearerAuthMiddleware:
    """Answers 401 (JSON error body, `WWW-Authenticate: Bearer`) unless the request has the right token."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        if not token:
            raise ValueError("BearerAuthMiddleware needs a non-empty token")
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        if token_matches(header, self.token):
            await self.app(scope, receive, send)
            return
        detail = (
            "This API needs an 'Authorization: Bearer <token>' header."
            if header is None
            else "The bearer token is wrong."
        )
        response = error_response(401, detail, "unauthorized", {"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
