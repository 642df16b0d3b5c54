"""One OpenAI-compatible chat client that answers in JSON, shared by every seam that asks a model (the prompt
refiner, the shot planner): the official SDK with its own retries off, structured output first and JSON mode
once a server says it cannot do `json_schema` (remembered), SDK errors translated into producer-readable
`ProviderError`s, and retries with backoff that honour Retry-After. The key is never shown: `scrub` it out of
anything a reply carries before it reaches a message.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam, completion_create_params
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from core.errors import ProviderError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry. Delays are seconds; tests shrink them to keep fast."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0  # never sleep longer than this, whatever the server asks

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with 'equal jitter': half fixed, half random, so retries spread out."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date), if present."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```$", re.DOTALL)


def json_content(content: str) -> Any:
    """A reply's JSON (`json.JSONDecodeError` when there is none). Servers in JSON mode — and models that ignore
    it — often wrap the object in a Markdown code fence (```json … ```): that wrapper is not part of the answer."""
    text = content.strip()
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


def _rejects_structured_output(err: openai.BadRequestError) -> bool:
    text = f"{err.message} {getattr(err, 'param', '') or ''}".lower()
    return "response_format" in text or "json_schema" in text or ("schema" in text and "support" in text)


class JsonChat:
    """A chat-completions client asking for JSON. Thread-safe: one SDK client, shared by a batch's workers."""

    def __init__(self, *, api_key: str, model: str, base_url: str | None, temperature: float, timeout_s: float,
                 retry: RetryPolicy | None) -> None:
        self.model = model
        self.base_url = base_url or DEFAULT_BASE_URL
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._key = api_key
        self._client = openai.OpenAI(api_key=api_key, base_url=self.base_url, timeout=timeout_s, max_retries=0)
        self._structured = True  # flipped once a server says it cannot do json_schema
        self._lock = threading.Lock()
        # The SDK imports its chat resources on first use (~0.3 s, under the import lock): pay it here, once, not
        # inside the first batch's simultaneous first requests.
        _ = self._client.chat.completions

    @property
    def uses_structured_output(self) -> bool:
        return self._structured

    def close(self) -> None:
        self._client.close()

    def scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    # ---- one attempt --------------------------------------------------------------------------------------
    def complete(self, messages: list[ChatCompletionMessageParam], *, structured_format: dict[str, Any],
                 json_format: dict[str, Any]) -> ChatCompletion:
        """One completion: `structured_format` while the server takes it, else `json_format`; raises
        `ProviderError` (retryable where a retry may help)."""
        structured = self._structured
        try:
            return self._create(messages, structured_format if structured else json_format)
        except openai.BadRequestError as err:
            if not (structured and _rejects_structured_output(err)):
                raise self.translate(err) from None
            with self._lock:
                self._structured = False
            try:
                return self._create(messages, json_format)
            except openai.APIError as err2:
                raise self.translate(err2) from None
        except openai.APIError as err:
            raise self.translate(err) from None

    def _create(self, messages: list[ChatCompletionMessageParam], response_format: dict[str, Any]) -> ChatCompletion:
        return self._client.chat.completions.create(
            model=self.model,
            messages=messages,
            temperature=self.temperature,
            response_format=cast("completion_create_params.ResponseFormat", response_format),
        )

    # ---- retries ------------------------------------------------------------------------------------------
    def with_retries(self, attempt: Callable[..., T], *args: Any) -> T:
        """`attempt(*args)`, retried per the policy on retryable `ProviderError`s; the last one says how often."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            reraise=True,
        )
        try:
            return retrying(attempt, *args)
        except ProviderError as err:
            if err.retryable and self.retry.max_attempts > 1:
                raise ProviderError(f"{err} (gave up after {self.retry.max_attempts} attempts)",
                                    category=err.category, retryable=True, retry_after=err.retry_after) from None
            raise

    def _wait(self, state: RetryCallState) -> float:
        delay = self.retry.backoff(state.attempt_number)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.retry.max_retry_after))
        return delay

    # ---- errors -------------------------------------------------------------------------------------------
    def translate(self, err: openai.APIError) -> ProviderError:
        return translate_error(err, base_url=self.base_url, model=self.model, timeout_s=self.timeout_s,
                               scrub=self.scrub)


def translate_error(err: openai.APIError, *, base_url: str, model: str, timeout_s: float,
                    scrub: Callable[[str], str]) -> ProviderError:
    """An SDK error as a producer-readable `ProviderError` (retryable where a retry may help, with the server's
    Retry-After); shared by the chat client and the voice (`core.voice.providers`)."""
    host = urlsplit(base_url).netloc or base_url
    if isinstance(err, openai.APITimeoutError):
        return ProviderError(f"The OpenAI server at {host} did not answer within {timeout_s:g} s",
                             category="timeout", retryable=True)
    if isinstance(err, openai.APIConnectionError):
        return ProviderError(f"Could not reach the OpenAI server at {host}", category="unreachable",
                             retryable=True)
    if isinstance(err, openai.APIStatusError):
        return _status_error(err, base_url=base_url, model=model, scrub=scrub)
    return ProviderError(f"OpenAI request failed: {scrub(str(err))}", category="provider")


def _status_error(err: openai.APIStatusError, *, base_url: str, model: str,
                  scrub: Callable[[str], str]) -> ProviderError:
    status = err.status_code
    detail = scrub(str(err.message))[:300]
    if status == 429:
        return ProviderError(f"OpenAI rate limit reached (429): {detail}", category="rate_limited",
                             retryable=True, retry_after=parse_retry_after(err.response.headers))
    if status >= 500 or status == 408:
        return ProviderError(f"The OpenAI server failed ({status}): {detail}", category="provider",
                             retryable=True, retry_after=parse_retry_after(err.response.headers))
    if status == 401:
        return ProviderError("The OpenAI API key was rejected (401); check OPENAI_API_KEY", category="auth")
    if status == 403:
        return ProviderError(f"OpenAI refused access (403): {detail}", category="auth")
    if status == 404:
        return ProviderError(f"Model {model!r} was not found at {base_url} (404)", category="config")
    return ProviderError(f"OpenAI rejected the request ({status}): {detail}", category="provider")
