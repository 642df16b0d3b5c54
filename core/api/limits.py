"""Request body limits, enforced on the wire: a declared Content-Length over the limit is refused before
anything is read, and a body streamed without one is cut off as soon as it passes the limit. The upload
route gets the upload limit; every other route a small JSON limit, so no body is ever held unbounded.

Starlette's own limiter answers in plain text on one of its paths; this one always answers with the API's
error shape. Running out of budget raises an `HTTPException(413)` from `receive`, which FastAPI's body parser
passes through untouched, so the app's error handler writes the response.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api.errors import error_response
from core.ingest.validate import upload_limit_text


class BodyTooLarge(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


DEFAULT_BODY_LIMIT = 1_000_000  # JSON requests are a few hundred bytes; 1 MB is generous


class BodyLimitMiddleware:
    """Caps request bodies at `default_bytes`, or at `upload_body_bytes` on `upload_paths` (the upload limit
    plus the multipart envelope). `upload_limit_bytes` is what a refusal quotes: the producer's file limit."""

    def __init__(self, app: ASGIApp, *, upload_paths: frozenset[str], upload_body_bytes: int,
                 upload_limit_bytes: int, default_bytes: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.upload_body_bytes = upload_body_bytes
        self.upload_limit_bytes = upload_limit_bytes
        self.default_bytes = default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("path") in self.upload_paths
        limit = self.upload_body_bytes if upload else self.default_bytes
        declared = _content_length(scope)
        quoted = upload_limit_text(self.upload_limit_bytes if upload else limit)
        detail = f"The {'upload' if upload else 'request body'} is over the {quoted} limit."
        if declared is not None and declared > limit:
            response = error_response(413, detail, "too_large", {"Connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(detail)
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
