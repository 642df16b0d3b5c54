"""The OpenAI refiner: the official `openai` SDK against api.openai.com or any OpenAI-compatible server.

The SDK's own retries are off (`max_retries=0`); this module owns the policy so it is visible and testable:
exponential backoff with jitter on 429, 5xx, timeouts and connection errors, honouring `Retry-After` /
`retry-after-ms`, up to `max_attempts` tries. It asks for strict structured output (`json_schema`); a server
that rejects that (400 about `response_format`) is asked again in JSON mode, and remembered. A reply that is
not valid JSON, misses fields, or is a refusal is a `ProviderError` for that frame. The API key is never put
in a message, a log line or stored inputs: errors are scrubbed of it before they leave this module.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Mapping, cast
from urllib.parse import urlsplit

import openai
import pydantic
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam, completion_create_params
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from core.errors import ProviderError
from core.prompts.template import SYSTEM_TEMPLATE_VERSION, load_system_template
from core.prompts.types import RefinedPrompt, RefineRequest

DEFAULT_BASE_URL = "https://api.openai.com/v1"

# Strict structured output: every field required, nothing else allowed (OpenAI's strict-mode rules).
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "string"}
        for name in ("prompt", "negative_prompt", "shot_size", "camera", "lighting", "style_notes")
    },
    "required": ["prompt", "negative_prompt", "shot_size", "camera", "lighting", "style_notes"],
    "additionalProperties": False,
}
STRUCTURED_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "refined_prompt", "strict": True, "schema": RESPONSE_SCHEMA},
}
JSON_MODE_FORMAT: dict[str, Any] = {"type": "json_object"}


def build_user_message(req: RefineRequest) -> str:
    """The frame's facts as labelled lines; the model reads them, the fake server parses `Scene text:`."""
    style = req.style
    lines = [
        f"Scene text: {' '.join(req.scene_text.split()) or '(empty)'}",
        f"Frame: {req.frame_position} of {req.frame_count} in shot {req.shot_position} of {req.shot_count}"
        f" (role: {req.frame_role})",
        f"Shot summary: {' '.join(req.shot_summary.split())}",
        f"Video title: {req.video_title}",
        f"Course title: {req.course_title}",
        f"Previous frame scene text: {' '.join(req.previous_scene_text.split()) or '(none)'}",
        f"Next frame scene text: {' '.join(req.next_scene_text.split()) or '(none)'}",
        f"Narration beat (context only, never drawn as text): {' '.join(req.beat.split()) or '(none)'}",
        f"Planned shot size: {req.planned_size or '(none)'}",
        f"Camera move: {req.camera_move or '(none)'}",
        f"Subject: {req.subject or '(none)'}",
        f"Action: {req.action or '(none)'}",
        f"Location: {req.location or '(none)'}",
        f"Visual directions for this shot: {' | '.join(' '.join(d.split()) for d in req.directions) or '(none)'}",
        "Style bible:",
        f"Visual style: {style.visual_style}",
        f"Palette: {style.palette}",
        f"Recurring characters / presenter: {style.characters}",
        f"Setting: {style.setting}",
        f"Aspect ratio: {style.aspect_ratio}",
        f"Negative prompt: {style.negative_prompt}",
    ]
    return "\n".join(lines)


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


def _rejects_structured_output(err: openai.BadRequestError) -> bool:
    text = f"{err.message} {getattr(err, 'param', '') or ''}".lower()
    return "response_format" in text or "json_schema" in text or ("schema" in text and "support" in text)


class OpenAIRefiner:
    """Prompts from a chat-completions model. Thread-safe: one client, shared by a batch's workers."""

    name = "openai"
    template_version = SYSTEM_TEMPLATE_VERSION

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        temperature: float = 0.4,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not api_key:
            raise ProviderError("No OpenAI API key is set (OPENAI_API_KEY); use the offline refiner instead",
                                category="config")
        self.model = model
        self.base_url = base_url or DEFAULT_BASE_URL
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._key = api_key
        self._client = openai.OpenAI(api_key=api_key, base_url=self.base_url, timeout=timeout_s, max_retries=0)
        self._structured = True  # flipped once a server says it cannot do json_schema
        self._lock = threading.Lock()
        self._system = load_system_template(self.template_version)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIRefiner(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def uses_structured_output(self) -> bool:
        return self._structured

    def close(self) -> None:
        self._client.close()

    # ---- public ---------------------------------------------------------------------------------
    def refine(self, req: RefineRequest) -> RefinedPrompt:
        """One frame's prompt, retried per the policy; raises `ProviderError` with a producer-readable message."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            reraise=True,
        )
        try:
            result: RefinedPrompt = retrying(self._attempt, req)
        except ProviderError as err:
            if err.retryable and self.retry.max_attempts > 1:
                raise ProviderError(f"{err} (gave up after {self.retry.max_attempts} attempts)",
                                    category=err.category, retryable=True, retry_after=err.retry_after) from None
            raise
        return result

    # ---- one attempt ------------------------------------------------------------------------------
    def _wait(self, state: RetryCallState) -> float:
        delay = self.retry.backoff(state.attempt_number)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.retry.max_retry_after))
        return delay

    def _attempt(self, req: RefineRequest) -> RefinedPrompt:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": build_user_message(req)},
        ]
        structured = self._structured
        try:
            completion = self._create(messages, STRUCTURED_FORMAT if structured else JSON_MODE_FORMAT)
        except openai.BadRequestError as err:
            if not (structured and _rejects_structured_output(err)):
                raise self._status_error(err) from None
            with self._lock:
                self._structured = False
            try:
                completion = self._create(messages, JSON_MODE_FORMAT)
            except openai.APIError as err2:
                raise self._translate(err2) from None
        except openai.APIError as err:
            raise self._translate(err) from None
        return self._parse(completion)

    def _create(self, messages: list[ChatCompletionMessageParam], response_format: dict[str, Any]) -> ChatCompletion:
        return self._client.chat.completions.create(
            model=self.model,
            messages=messages,
            temperature=self.temperature,
            response_format=cast("completion_create_params.ResponseFormat", response_format),
        )

    def _parse(self, completion: ChatCompletion) -> RefinedPrompt:
        if not completion.choices:
            raise ProviderError("The model returned no answer", category="invalid_reply")
        choice = completion.choices[0]
        message = choice.message
        if message.refusal:
            raise ProviderError(f"The model refused to write this prompt: {self._scrub(message.refusal)}",
                                category="refused")
        if choice.finish_reason == "length":
            raise ProviderError("The model's reply was cut off (token limit); try again or shorten the scene text",
                                category="invalid_reply")
        content = (message.content or "").strip()
        if not content:
            raise ProviderError("The model returned an empty reply", category="invalid_reply")
        try:
            data = json.loads(content)
        except json.JSONDecodeError:
            raise ProviderError(f"The model's reply is not valid JSON: {self._scrub(content[:120])!r}",
                                category="invalid_reply") from None
        if not isinstance(data, dict):
            raise ProviderError("The model's reply is JSON but not an object", category="invalid_reply")
        try:
            return RefinedPrompt.model_validate(data)
        except pydantic.ValidationError as err:
            fields = sorted({str(e["loc"][0]) for e in err.errors() if e["loc"]})
            missing = ", ".join(fields) or "unknown"
            raise ProviderError(f"The model's reply does not fit the prompt format (problem with: {missing})",
                                category="invalid_reply") from None

    # ---- errors -------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _translate(self, err: openai.APIError) -> ProviderError:
        host = urlsplit(self.base_url).netloc or self.base_url
        if isinstance(err, openai.APITimeoutError):
            return ProviderError(f"The OpenAI server at {host} did not answer within {self.timeout_s:g} s",
                                 category="timeout", retryable=True)
        if isinstance(err, openai.APIConnectionError):
            return ProviderError(f"Could not reach the OpenAI server at {host}", category="unreachable",
                                 retryable=True)
        if isinstance(err, openai.APIStatusError):
            return self._status_error(err)
        return ProviderError(f"OpenAI request failed: {self._scrub(str(err))}", category="provider")

    def _status_error(self, err: openai.APIStatusError) -> ProviderError:
        status = err.status_code
        detail = self._scrub(str(err.message))[:300]
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
            return ProviderError(f"Model {self.model!r} was not found at {self.base_url} (404)", category="config")
        return ProviderError(f"OpenAI rejected the request ({status}): {detail}", category="provider")
