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
from typing import Any

import pydantic
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from core.errors import ProviderError
from core.openai_chat import DEFAULT_BASE_URL, JsonChat, RetryPolicy, json_content, parse_retry_after

__all__ = ["DEFAULT_BASE_URL", "OpenAIRefiner", "RetryPolicy", "parse_retry_after"]  # the last three: old homes
from core.prompts.template import SYSTEM_TEMPLATE_VERSION, load_system_template
from core.prompts.types import RefinedPrompt, RefineRequest


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
        self._chat = JsonChat(api_key=api_key, model=model, base_url=base_url, temperature=temperature,
                              timeout_s=timeout_s, retry=retry)
        self.model = model
        self.base_url = self._chat.base_url
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.retry = self._chat.retry
        self._system = load_system_template(self.template_version)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIRefiner(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def uses_structured_output(self) -> bool:
        return self._chat.uses_structured_output

    def close(self) -> None:
        self._chat.close()

    # ---- public ---------------------------------------------------------------------------------
    def refine(self, req: RefineRequest) -> RefinedPrompt:
        """One frame's prompt, retried per the policy; raises `ProviderError` with a producer-readable message."""
        return self._chat.with_retries(self._attempt, req)

    # ---- one attempt ------------------------------------------------------------------------------
    def _attempt(self, req: RefineRequest) -> RefinedPrompt:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": build_user_message(req)},
        ]
        completion = self._chat.complete(messages, structured_format=STRUCTURED_FORMAT,
                                         json_format=JSON_MODE_FORMAT)
        return self._parse(completion)

    def _parse(self, completion: ChatCompletion) -> RefinedPrompt:
        if not completion.choices:
            raise ProviderError("The model returned no answer", category="invalid_reply")
        choice = completion.choices[0]
        message = choice.message
        if message.refusal:
            raise ProviderError(f"The model refused to write this prompt: {self._chat.scrub(message.refusal)}",
                                category="refused")
        if choice.finish_reason == "length":
            raise ProviderError("The model's reply was cut off (token limit); try again or shorten the scene text",
                                category="invalid_reply")
        content = (message.content or "").strip()
        if not content:
            raise ProviderError("The model returned an empty reply", category="invalid_reply")
        try:
            data = json_content(content)
        except json.JSONDecodeError:
            raise ProviderError(f"The model's reply is not valid JSON: {self._chat.scrub(content[:120])!r}",
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
