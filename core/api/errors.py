"""One error shape for every failure: `{"detail": str, "category": str}`, never a stack trace.

`core.errors` exceptions keep their category and get an HTTP status from it; FastAPI's own 404/405/422 and
the body limiter's 413 are rewritten into the same shape; anything else is logged and answered with a
generic 500, so an unexpected bug never leaks internals to a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    ConflictError,
    GateError,
    IngestError,
    NotFoundError,
    ProviderError,
    StudioError,
    ValidationError,
)

log = logging.getLogger("core.api")


class ErrorBody(BaseModel):
    """What every error response carries."""

    detail: str
    category: str


# Ingest categories that are not "unprocessable content": the request itself is the problem.
_INGEST_STATUS = {"not_docx": 415, "too_large": 413}

# HTTP statuses raised by FastAPI/Starlette themselves, and the category a client sees for each.
_HTTP_CATEGORY = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def status_for(err: StudioError) -> int:
    """The HTTP status of a core error."""
    if isinstance(err, IngestError):
        return _INGEST_STATUS.get(err.category, 422)
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, GateError) and err.category == "forbidden":
        return 403  # the role may not do this (core.authz), whatever the state
    if isinstance(err, (ConflictError, GateError)):
        return 409
    if isinstance(err, ValidationError):
        return 422
    if isinstance(err, ProviderError):
        return 503 if err.retryable else 502
    return 400


def error_response(status: int, detail: str, category: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(detail=detail, category=category).model_dump(), status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    """`body.frame_id: Input should be a valid integer; …` — field paths a client can act on."""
    parts = []
    for item in exc.errors()[:5]:
        loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body" or len(item.get("loc", ())) == 1)
        msg = str(item.get("msg", "invalid value"))
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = len(exc.errors()) - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts) or "The request is not valid."


async def _studio_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StudioError)
    status = status_for(exc)
    headers = None
    if isinstance(exc, ProviderError) and exc.retry_after:
        headers = {"Retry-After": str(int(exc.retry_after + 0.999))}
    return error_response(status, str(exc), exc.category, headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    category = _HTTP_CATEGORY.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    elif exc.status_code == 413 and detail == "Content Too Large":
        detail = "The request body is over the size limit."
    return error_response(exc.status_code, detail, category, dict(exc.headers or {}) or None)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, _describe_validation(exc), "invalid")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Something went wrong on the server; the error was logged.", "internal")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StudioError, _studio_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Declared on every operation so the OpenAPI document promises exactly what the API answers.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _doc("The request body could not be parsed (e.g. malformed multipart data)."),
    401: _doc("Missing or wrong bearer token (only when the API has a token)."),
    404: _doc("Not found."),
    405: _doc("Method not allowed."),
    413: _doc("The request body (or the upload) is over the size limit."),
    422: _doc("The request is not valid."),
    500: _doc("Unexpected server error (logged; no details are returned)."),
}


def errors_doc(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """COMMON_ERRORS plus `statuses` (e.g. 409, 415) for one operation."""
    extra = {
        403: "The acting role may not do this (core.authz).",
        409: "Conflict with the current state (locked or approved items, edits in flight).",
        415: "The upload is not a Word (.docx) file.",
        502: "An external provider failed.",
        503: "An external provider is temporarily unavailable; retry later.",
    }
    out = dict(COMMON_ERRORS)
    for status in statuses:
        out[status] = _doc(descriptions.get(f"s{status}", extra.get(status, "Error.")))
    return out
