"""The OpenAI planner: a video's narration planned into shots by a chat model (official `openai` SDK, any
OpenAI-compatible `base_url`), with the refiner's settings and retry policy.

One call asks for the whole plan as strict structured output (`json_schema`; JSON mode for servers without it,
remembered). The reply is checked by `plan_problems` before anything may be stored: a plan that drops, repeats or
reorders a sentence, uses a size or move outside the vocabulary, or shows one picture twice (the store's
`plan_check`) — or a reply that is not readable JSON (cut
off, malformed) — is asked again **once**, with the problems listed. A second bad reply, a refusal, or a
provider that keeps failing after the retries is a `ProviderError`: the caller keeps the offline storyboard and
shows the reason. The API key never leaves the SDK client: errors are scrubbed of it.
"""

from __future__ import annotations

import json
import threading
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

import pydantic
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from core.errors import ProviderError
from core.planner.types import CAMERA_MOVES, SHOT_SIZES, PlanRequest, ShotPlanReply
from core.planner.validate import normalized
from core.openai_chat import JsonChat, RetryPolicy, json_content

PLAN_TEMPLATE_VERSION = "plan-2"  # plan-2: the answer's JSON shape spelled out (servers in JSON mode)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REASK_LIMIT = 1  # an invalid plan is asked again this many times, with its problems listed

_TEXT = {"type": "string"}
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "shots": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "first_sentence": {"type": "integer"},
                    "last_sentence": {"type": "integer"},
                    "shot_size": {"type": "string", "enum": list(SHOT_SIZES)},
                    "camera_move": {"type": "string", "enum": list(CAMERA_MOVES)},
                    "subject": _TEXT, "action": _TEXT, "location": _TEXT, "on_screen_text": _TEXT,
                    "keyframes": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"description": _TEXT},
                                  "required": ["description"], "additionalProperties": False},
                    },
                    "motion_prompt": _TEXT,
                    "cast": {"type": "array", "items": _TEXT},
                },
                "required": ["first_sentence", "last_sentence", "shot_size", "camera_move", "subject", "action",
                             "location", "on_screen_text", "keyframes", "motion_prompt", "cast"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["shots"],
    "additionalProperties": False,
}
STRUCTURED_FORMAT: dict[str, Any] = {
    "type": "json_schema", "json_schema": {"name": "shot_plan", "strict": True, "schema": PLAN_SCHEMA}}
JSON_MODE_FORMAT: dict[str, Any] = {"type": "json_object"}


@lru_cache(maxsize=4)
def load_plan_template(version: str = PLAN_TEMPLATE_VERSION) -> str:
    """The planner's system prompt of `version` (`templates/plan_v<N>.md`)."""
    path = TEMPLATES_DIR / f"plan_v{version.removeprefix('plan-')}.md"
    if not path.is_file():
        raise ProviderError(f"Planner template version {version} does not exist ({path.name})", category="config")
    return path.read_text(encoding="utf-8").strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _placed(req: PlanRequest, n: int) -> str:
    """"(at sentence 3) " for the n-th direction, numbered as the narration is (1-based)."""
    return f"(at sentence {req.direction_at[n] + 1}) " if n < len(req.direction_at) else ""


def build_plan_message(req: PlanRequest) -> str:
    """The video's facts as labelled lines, the narration numbered `[1] …` (the fake server parses these)."""
    style = req.style
    lines = [
        f"Course title: {_one_line(req.course_title)}",
        f"Video title: {_one_line(req.video_title)}",
        f"Previous video: {_one_line(req.previous_video_title) or '(none)'}",
        f"Next video: {_one_line(req.next_video_title) or '(none)'}",
        f"Shots wanted: about {req.shots}",
        f"Keyframes per shot: {req.frames}",
        f"Shot sizes: {', '.join(SHOT_SIZES)}",
        f"Camera moves: {', '.join(CAMERA_MOVES)}",
        f"Cast and sets: {', '.join(req.cast) or '(none)'}",
        "Style bible:",
        f"Visual style: {style.visual_style}",
        f"Palette: {style.palette}",
        f"Recurring characters / presenter: {style.characters}",
        f"Setting: {style.setting}",
        f"Aspect ratio: {style.aspect_ratio}",
        "Visual directions:",
        *([f"- {_placed(req, n)}{_one_line(d)}" for n, d in enumerate(req.directions)] or ["(none)"]),
        "Scene marks:",
        *([f"- {_one_line(s)}" for s in req.scenes] or ["(none)"]),
        f"Narration ({len(req.sentences)} sentences):",
        *(f"[{i}] {_one_line(s)}" for i, s in enumerate(req.sentences, start=1)),
    ]
    return "\n".join(lines)


def reask_message(problems: list[str], sentence_count: int) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (f"Your plan cannot be used:\n{listed}\nSend the whole plan again, corrected: the shots' sentence ranges "
            f"must cover sentences 1 to {sentence_count} exactly once each, in order, and every shot size and "
            "camera move must be one of the listed ones.")


class OpenAIPlanner:
    """Shot plans from a chat-completions model. Thread-safe: one client, shared by a batch's workers."""

    name = "openai"
    template_version = PLAN_TEMPLATE_VERSION

    def __init__(self, *, api_key: str, model: str, base_url: str | None = None, temperature: float = 0.4,
                 timeout_s: float = 120.0, retry: RetryPolicy | None = None) -> None:
        if not api_key:
            raise ProviderError("No OpenAI API key is set (OPENAI_API_KEY); plan offline instead", category="config")
        self._chat = JsonChat(api_key=api_key, model=model, base_url=base_url, temperature=temperature,
                              timeout_s=timeout_s, retry=retry)
        self.model = model
        self.base_url = self._chat.base_url
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.retry = self._chat.retry
        self._lock = threading.Lock()
        self._system = load_plan_template(self.template_version)
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "requests": 0}

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIPlanner(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._chat.close()

    # ---- public ---------------------------------------------------------------------------------------------
    def plan(self, req: PlanRequest, *, gate: AbstractContextManager[Any] | None = None) -> ShotPlanReply:
        """A plan that passes `plan_problems` (sizes and moves spelled as the vocabulary spells them), or a
        `ProviderError` saying why there is none. `gate` is held around each HTTP request only."""
        n = len(req.sentences)
        if n == 0:
            raise ProviderError("The video has no narration to plan", category="invalid_plan")
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": build_plan_message(req)},
        ]
        problems: list[str] = []
        for asked in range(REASK_LIMIT + 1):
            content, reply, problems = self._ask(messages, n, req.frames, gate or nullcontext())
            if reply is not None and not problems:
                return normalized(reply)
            if asked < REASK_LIMIT:
                messages = [*messages, {"role": "assistant", "content": content or "(no readable reply)"},
                            {"role": "user", "content": reask_message(problems, n)}]
        shown = "; ".join(problems[:4]) + (f" (and {len(problems) - 4} more)" if len(problems) > 4 else "")
        raise ProviderError(f"The AI plan was still invalid after one re-ask: {self._chat.scrub(shown)}",
                            category="invalid_plan")

    # ---- one question (retried per the policy) ----------------------------------------------------------------
    def _ask(self, messages: list[ChatCompletionMessageParam], n: int, frames: int,
             gate: AbstractContextManager[Any]) -> tuple[str, ShotPlanReply | None, list[str]]:
        return self._read(self._chat.with_retries(self._attempt, messages, gate), n, frames)

    def _attempt(self, messages: list[ChatCompletionMessageParam], gate: AbstractContextManager[Any]) -> ChatCompletion:
        with gate:
            completion = self._chat.complete(messages, structured_format=STRUCTURED_FORMAT,
                                             json_format=JSON_MODE_FORMAT)
        usage = completion.usage
        with self._lock:
            self.usage["requests"] += 1
            if usage is not None:
                self.usage["prompt_tokens"] += usage.prompt_tokens
                self.usage["completion_tokens"] += usage.completion_tokens
        return completion

    def _read(self, completion: ChatCompletion, n: int, frames: int) -> tuple[str, ShotPlanReply | None, list[str]]:
        """(raw content, the plan if readable, its problems). A refusal is final: raised, not re-asked."""
        if not completion.choices:
            return "", None, ["the reply had no answer"]
        choice = completion.choices[0]
        message = choice.message
        if message.refusal:
            raise ProviderError(f"The model refused to plan this video: {self._chat.scrub(message.refusal)}",
                                category="refused")
        content = (message.content or "").strip()
        if choice.finish_reason == "length":
            return content, None, ["the reply was cut off before the plan ended (token limit); send a shorter plan"]
        if not content:
            return "", None, ["the reply was empty"]
        try:
            data = json_content(content)
        except json.JSONDecodeError as err:
            return content, None, [f"the reply is not valid JSON ({err.msg} at character {err.pos})"]
        try:
            reply = ShotPlanReply.model_validate(data)
        except pydantic.ValidationError as err:
            where = sorted({".".join(str(p) for p in e["loc"]) for e in err.errors()})[:5]
            return content, None, [f"the reply does not fit the plan format (problem with: {', '.join(where)})"]
        from core.storyboard_store import plan_check  # the store's own checks: a re-ask can fix what it refuses

        return content, reply, plan_check(reply, n, max_keyframes=frames)
