"""The upload size limit, enforced on the wire: a declared Content-Length over the limit is refused before
anything is read, and a body streamed without one is cut off as soon as it passes the limit.

Starlette's own limiter answers in plain text on one of its paths; this one always answers with the API's
error shape. Running out of budget raises an `HTTPException(413)` from `receive`, which FastAPI's body parser
passes through untouched, so the app's error handler writes the response.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api.errors import error_response


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is over the size limit.")


class UploadLimitMiddleware:
    """Caps request bodies on `paths` at `max_body_bytes` (the upload limit plus the multipart envelope)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, upload_limit_bytes: int, paths: frozenset[str]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_limit_bytes = upload_limit_bytes  # what the message quotes: the producer's file limit
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            limit_mb = self.upload_limit_bytes / 1024 / 1024
            response = error_response(413, f"The upload is over the {limit_mb:g} MB limit.", "too_large",
                                      {"Connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge()
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
