"""Higgs failures as `ProviderError`s: one class per action a caller takes (retry later, or stop and tell).

`error_for_response` turns an HTTP error reply into the right subclass following the error table of
`shared/higgs_api.md`; the messages are written for producers, not developers.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from core.errors import ProviderError

# Older docs: a 400 whose detail says this is a concurrency limit, not a bad body; it is worth a retry.
CONCURRENCY_MARKER = "maximum number of concurrent requests"


class HiggsError(ProviderError):
    """Any Higgs failure. `status_code` is None for network and protocol problems."""

    category = "provider"

    def __init__(self, message: str, *, category: str | None = None, retryable: bool = False,
                 retry_after: float | None = None, status_code: int | None = None,
                 correlation_id: str | None = None, detail: Any = None) -> None:
        super().__init__(message, category=category, retryable=retryable, retry_after=retry_after)
        self.status_code = status_code
        self.correlation_id = correlation_id
        self.detail = detail


class HiggsAuthError(HiggsError):
    """401: the key id / secret pair was refused. Stop."""

    category = "auth"


class HiggsCreditsError(HiggsError):
    """403: insufficient credits, or a CDN blocking the HTTP client. Stop and show the body."""

    category = "credits"


class HiggsNotFoundError(HiggsError):
    """404: the model slug (maybe retired) or the request id is unknown to this account. Stop."""

    category = "not_found"


class HiggsRejectedError(HiggsError):
    """400 (bad parameters) or 422 (schema validation, idempotency key reused with another body). Stop."""

    category = "rejected"


class HiggsBusyError(HiggsError):
    """429 queue full, 423/503 model blocked or not ready, 400 concurrency limit. Retry later, same key."""

    category = "busy"


class HiggsServerError(HiggsError):
    """500/502/504 and other 5xx. Retry with backoff, same key."""

    category = "server"


class HiggsNetworkError(HiggsError):
    """Timeout or connection failure: the request may or may not have arrived. Retry with the same key."""

    category = "network"


class HiggsProtocolError(HiggsError):
    """A reply we cannot read (not JSON, or missing the fields the protocol promises)."""

    category = "protocol"


class HiggsDownloadError(HiggsError):
    """An output file could not be fetched: refused scheme, too large, or a transfer failure."""

    category = "download"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: either delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def format_detail(detail: Any) -> str:
    """A readable one-liner from `{"detail": …}`: a string, or FastAPI-style list of {loc, msg}."""
    if detail is None:
        return "no detail given"
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict) and "msg" in item:
                loc = [str(p) for p in item.get("loc", []) if p != "body"]
                parts.append(f"{'.'.join(loc)}: {item['msg']}" if loc else str(item["msg"]))
            else:
                parts.append(format_detail(item))
        return "; ".join(parts)
    if isinstance(detail, dict):
        if "message" in detail:
            return str(detail["message"])
        return ", ".join(f"{k}: {v}" for k, v in detail.items())
    return str(detail)


def error_for_response(status_code: int, detail: Any, headers: Mapping[str, str], *, action: str,
                       user_agent: str, correlation_id: str | None) -> HiggsError:
    """Map one HTTP error reply to the exception (and retry decision) the shared page's table asks for."""
    text = format_detail(detail)
    retry_after = parse_retry_after(headers.get("retry-after"))
    kw: dict[str, Any] = {"status_code": status_code, "correlation_id": correlation_id, "detail": detail,
                          "retry_after": retry_after}
    where = f"Higgs {action}"
    if status_code == 400 and CONCURRENCY_MARKER in text.lower():
        return HiggsBusyError(f"{where}: the account's concurrent-request limit is reached ({text}); "
                              "it will be resubmitted when a slot frees up.", retryable=True, **kw)
    if status_code == 400:
        return HiggsRejectedError(f"{where} was rejected (400): {text}. Fix the parameters or the prompt.", **kw)
    if status_code == 401:
        return HiggsAuthError(f"{where}: the API key was refused (401). Check HF_KEY (\"id:secret\") or "
                              "HF_API_KEY + HF_API_SECRET in the settings.", **kw)
    if status_code == 403:
        return HiggsCreditsError(f"{where} was refused (403): {text}. Usually the account has run out of "
                                 "credits. If it has credits, the CDN in front of the API may be blocking this "
                                 f"HTTP client (User-Agent sent: {user_agent!r}).", **kw)
    if status_code == 404:
        return HiggsNotFoundError(f"{where}: not found (404): {text}. If this is a model, its slug may have "
                                  "been retired; choose another model in the settings.", **kw)
    if status_code == 422:
        hint = (" The idempotency key was already used with a different request body."
                if "idempot" in text.lower() else "")
        return HiggsRejectedError(f"{where}: the request body was rejected (422): {text}.{hint}", **kw)
    if status_code == 429:
        wait = f" Retry after {retry_after:g} s." if retry_after is not None else ""
        return HiggsBusyError(f"{where}: the account's queue is full (429): {text}.{wait}", retryable=True, **kw)
    if status_code in (423, 503):
        return HiggsBusyError(f"{where}: the model is blocked or not ready ({status_code}): {text}. "
                              "Trying again later.", retryable=True, **kw)
    if status_code >= 500:
        return HiggsServerError(f"{where}: the service had a server error ({status_code}): {text}.",
                                retryable=True, **kw)
    return HiggsError(f"{where}: unexpected reply {status_code}: {text}.", **kw)
