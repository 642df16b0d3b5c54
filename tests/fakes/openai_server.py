"""A small OpenAI-compatible chat-completions server for tests and the benchmark, over real HTTP.

The `openai` 3.x SDK talks through `httpx2`, so httpx-level mocks never see its traffic; this server does.
`POST /v1/chat/completions` answers with a valid structured prompt built from the request (so prompts differ
by input). Knobs, server-wide or as a queue of scripted replies consumed one per request:

- ``latency``: seconds slept before every reply (the benchmark uses 0.2);
- ``require_key``: answer 401 to any other Bearer token;
- ``reject_json_schema``: answer 400 to `response_format: json_schema` (like servers without structured output);
- scripted `Reply`s: ``rate_limit`` (429 with Retry-After / retry-after-ms), ``server_error`` (500),
  ``slow`` (sleeps past the client timeout), ``malformed`` (content is not JSON), ``invalid`` (JSON without
  the required fields), ``refusal`` (`message.refusal` set), ``ok``.

Shot-plan requests (the planner's user message, with its numbered `[1] …` narration) get a valid plan that
partitions the narration into about the shots asked for; scripted ``plan_drop`` / ``plan_repeat`` /
``plan_reorder`` (a sentence left out, two shots sharing one, shots out of order), ``plan_bad_move`` (a camera
move outside the vocabulary) and ``plan_truncated`` (the JSON cut off, `finish_reason: length`) break it;
``malformed`` sends plan JSON cut off without saying so.

`POST /v1/audio/speech` (text-to-speech) answers with real audio: a 16-bit 24 kHz mono WAV whose length grows
with the text (`SPEECH_CHARS_PER_S` characters a second, divided by the requested speed) — a tone with syllable-
like pulses, so it decodes, is not silent and has the length a voice would give. Scripted ``malformed`` sends
bytes that are not audio, ``silent`` a WAV of zeros; ``rate_limit`` / ``server_error`` / ``slow`` /
``unauthorized`` work as for chat.

Every request is recorded (path, headers, JSON body) so tests can check what the client sent.

Standalone: ``python tests/fakes/openai_server.py --port 8001 [--latency 0.2] [--reject-json-schema]``.
In tests: ``with FakeOpenAIServer() as server: ... server.base_url ...`` or the `openai_server` fixture.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

REPLY_KINDS = ("ok", "rate_limit", "server_error", "slow", "malformed", "invalid", "refusal", "unauthorized",
               "silent",  # speech: a WAV of digital silence
               "fenced",  # the JSON answer wrapped in a Markdown code fence, as chatty JSON-mode servers send it
               # shot plans (requests whose user message carries the numbered narration)
               "plan_drop", "plan_repeat", "plan_reorder", "plan_bad_move", "plan_truncated",
               "plan_extra_keyframes")


@dataclass(frozen=True)
class Reply:
    """One scripted reply. `delay` is slept before answering (``slow``); `retry_after*` go on a 429."""

    kind: str = "ok"
    delay: float = 0.0
    retry_after: str | None = None  # raw Retry-After header value (seconds or an HTTP date)
    retry_after_ms: int | None = None  # OpenAI's own millisecond header

    def __post_init__(self) -> None:
        if self.kind not in REPLY_KINDS:
            raise ValueError(f"unknown reply kind {self.kind!r}; expected one of {REPLY_KINDS}")


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]
    answered_with: str = "ok"


@dataclass
class _State:
    latency: float = 0.0
    reject_json_schema: bool = False
    require_key: str | None = None  # when set, any other Bearer token gets 401 (like a revoked key)
    script: deque[Reply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0  # the most requests being answered at once (to check a client's concurrency bound)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _field_from_user_message(content: str, label: str) -> str:
    for line in content.splitlines():
        if line.lower().startswith(label.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def structured_reply(body: dict[str, Any]) -> dict[str, str]:
    """A deterministic RefinedPrompt-shaped answer derived from the user message."""
    messages = body.get("messages") or []
    user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    user = user if isinstance(user, str) else json.dumps(user)
    scene = _field_from_user_message(user, "Scene text") or user[:200]
    style = _field_from_user_message(user, "Visual style") or "cinematic documentary still"
    digest = hashlib.sha256(user.encode("utf-8")).hexdigest()[:8]
    sizes = ("wide shot", "medium shot", "close-up")
    size = sizes[int(digest, 16) % 3]
    return {
        "prompt": f"{size.capitalize()} of a scene depicting: {scene}. {style}. Ref {digest}.",
        "negative_prompt": "text, lettering, captions, logos, watermark",
        "shot_size": size,
        "camera": "35mm lens, eye level",
        "lighting": "soft window light",
        "style_notes": style,
    }


PLAN_SIZES = ("wide", "medium", "close-up", "medium close-up", "extreme wide")
PLAN_MOVES = ("push in", "static", "pan left", "tracking", "orbit", "tilt up", "pull out", "handheld")


def _user_message(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    first = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    return first if isinstance(first, str) else json.dumps(first)


def plan_sentences(body: dict[str, Any]) -> list[str] | None:
    """The numbered narration of a shot-plan request, or None when the request is not one."""
    user = _user_message(body)
    lines = user.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Narration (")), None)
    if start is None:
        return None
    out = []
    for line in lines[start + 1:]:
        if line.startswith("[") and "]" in line:
            out.append(line.split("]", 1)[1].strip())
    return out


def plan_reply(body: dict[str, Any], kind: str = "ok") -> dict[str, Any]:
    """A deterministic plan for the request's narration; `kind` breaks it the scripted way."""
    user = _user_message(body)
    sentences = plan_sentences(body) or []
    n = len(sentences)
    wanted = int((_field_from_user_message(user, "Shots wanted") or "about 4").split()[-1])
    frames = int(_field_from_user_message(user, "Keyframes per shot") or "3")
    cast = [c.strip() for c in _field_from_user_message(user, "Cast and sets").split(",")
            if c.strip() and c.strip() != "(none)"]
    count = max(1, min(wanted, n))
    bounds = [round(i * n / count) for i in range(count + 1)]
    ranges = [(bounds[i] + 1, bounds[i + 1]) for i in range(count)]
    if kind == "plan_drop" and n >= 2:  # sentence 2 is in no shot
        ranges = [(1, 1), (3, n)] if n >= 3 else [(1, 1)]
    elif kind == "plan_repeat" and n >= 2:  # sentence 2 in two shots
        ranges = [(1, 2), (2, n)]
    elif kind == "plan_reorder" and len(ranges) >= 2:
        ranges = [ranges[1], ranges[0], *ranges[2:]]
    digest = int(hashlib.sha256(user.encode("utf-8")).hexdigest()[:8], 16)
    roles = ("start", "middle", "end")[:max(1, min(3, frames))]
    if kind == "plan_extra_keyframes":  # more pictures than were asked for (each would be rendered and paid)
        roles = ("start", "early", "middle", "late", "end", "after")
    shots = []
    for i, (a, b) in enumerate(ranges):
        gist = " ".join(sentences[a - 1].split()[:6]) if 0 < a <= n else "the topic"
        move = PLAN_MOVES[(digest + i) % len(PLAN_MOVES)]
        if kind == "plan_bad_move" and i == 0:
            move = "dolly zoom"
        shots.append({
            "first_sentence": a, "last_sentence": b, "shot_size": PLAN_SIZES[(digest + i) % len(PLAN_SIZES)],
            "camera_move": move, "subject": f"the presenter explaining {gist}", "action": "gestures to a diagram",
            "location": "a bright studio classroom", "on_screen_text": f"Key term {i + 1}" if i == 0 else "",
            "keyframes": [{"description": f"Shot {i + 1} {role}: the presenter and a diagram of {gist}"}
                          for role in roles],
            "motion_prompt": f"{move.capitalize()} on the presenter as the diagram of {gist} fills in",
            "cast": cast[:1] if i == 0 else [],
        })
    return {"shots": shots}


def _usage(body: dict[str, Any], content: str | None) -> dict[str, int]:
    """About four characters a token, as OpenAI's tokenizer counts English."""
    sent = sum(len(str(m.get("content") or "")) for m in body.get("messages") or [])
    prompt, completion = max(1, sent // 4), max(1, len(content or "") // 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], *, content: str | None, refusal: str | None = None,
                finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake-" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": _usage(body, content),
    }


def _error(message: str, *, kind: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


SPEECH_PATHS = ("/v1/audio/speech", "/audio/speech")
SPEECH_CHARS_PER_S = 15.0
SPEECH_MAX_CHARS = 4096
SPEECH_RATE = 24_000


def speech_seconds(text: str, speed: float = 1.0) -> float:
    """How long the fake voice takes to say `text`: what a test expects a take (and a narrated cut) to last."""
    return round(max(0.4, len(text) / SPEECH_CHARS_PER_S / max(0.25, speed)), 3)


def speech_wav(text: str, *, speed: float = 1.0, silent: bool = False) -> bytes:
    """A WAV "saying" `text`: a 180 Hz tone pulsed four times a second (syllables), 0.1 s of silence at each end."""
    import io
    import wave

    import numpy as np

    n = int(speech_seconds(text, speed) * SPEECH_RATE)
    edge = int(0.1 * SPEECH_RATE)
    t = np.arange(n) / SPEECH_RATE
    wave_ = 9000 * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)) * np.sin(2 * np.pi * 180 * t)
    wave_[:edge] = 0
    wave_[n - edge:] = 0
    if silent:
        wave_[:] = 0
    frames = wave_.astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SPEECH_RATE)
        w.writeframes(frames)
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # silent: tests assert nothing leaks to logs, and the benchmark must not print per request

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to every keep-alive reply (skews the benchmark).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, status: int, payload: dict[str, Any] | str | bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        if isinstance(payload, bytes):
            data = payload
        else:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode("utf-8")
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Type: {content_type}",
                 f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        try:
            # Head and body in one write (one TCP segment for small replies).
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout test): nothing to do

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(400, _error("request body is not JSON", kind="invalid_request_error"))
            return
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions", *SPEECH_PATHS):
            self._send(404, _error(f"no route {self.path}", kind="not_found"))
            return
        with state.lock:
            reply = state.script.popleft() if state.script else Reply()
            record = RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body, reply.kind)
            state.requests.append(record)
            latency = state.latency
            reject_schema = state.reject_json_schema
            if state.require_key is not None and self.headers.get("Authorization") != f"Bearer {state.require_key}":
                record.answered_with = "unauthorized"
                reply = Reply("unauthorized")
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if self.path.rstrip("/") in SPEECH_PATHS:
                self._speech(body, reply, latency)
            else:
                self._answer(body, reply, record, latency, reject_schema)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _sent_failure(self, reply: Reply) -> bool:
        """Send the scripted 429 / 401 / 500 a chat or speech request meets; False when the reply is another kind."""
        if reply.kind == "rate_limit":
            headers: dict[str, str] = {}
            if reply.retry_after is not None:
                headers["Retry-After"] = reply.retry_after
            if reply.retry_after_ms is not None:
                headers["retry-after-ms"] = str(reply.retry_after_ms)
            self._send(429, _error("Rate limit reached, slow down", kind="rate_limit_error"), headers)
        elif reply.kind == "unauthorized":
            self._send(401, _error("Incorrect API key provided.", kind="invalid_request_error"))
        elif reply.kind == "server_error":
            self._send(500, _error("The server had an error while processing your request", kind="server_error"))
        else:
            return False
        return True

    def _speech(self, body: dict[str, Any], reply: Reply, latency: float) -> None:
        time.sleep(latency + reply.delay)
        text = body.get("input")
        if not isinstance(text, str) or not text.strip() or not body.get("model") or not body.get("voice"):
            self._send(400, _error("input, model and voice are required", kind="invalid_request_error"))
        elif len(text) > SPEECH_MAX_CHARS:  # as the real endpoint refuses it
            self._send(400, _error(f"input is longer than {SPEECH_MAX_CHARS} characters",
                                   kind="invalid_request_error"))
        elif self._sent_failure(reply):
            pass
        elif reply.kind == "malformed":
            self._send(200, b"RIFF\x10\x00\x00\x00WAVEnot really audio", content_type="audio/wav")
        else:
            speed = float(body.get("speed") or 1.0)
            self._send(200, speech_wav(text, speed=speed, silent=reply.kind == "silent"), content_type="audio/wav")

    def _answer(self, body: dict[str, Any], reply: Reply, record: RecordedRequest, latency: float,
                reject_schema: bool) -> None:
        time.sleep(latency + reply.delay)

        response_format = body.get("response_format") or {}
        if reject_schema and response_format.get("type") == "json_schema":
            record.answered_with = "reject_json_schema"
            self._send(400, _error("response_format json_schema is not supported by this server",
                                   kind="invalid_request_error", param="response_format"))
            return
        if self._sent_failure(reply):
            pass
        elif plan_sentences(body) is not None and reply.kind not in ("refusal", "unauthorized"):
            kind = "ok" if reply.kind in ("slow", "fenced") else reply.kind
            full = json.dumps(plan_reply(body, kind), ensure_ascii=False)
            if kind == "invalid":  # JSON, but not a plan
                self._send(200, _completion(body, content=json.dumps({"plan": "four shots"})))
            elif kind in ("plan_truncated", "malformed"):
                self._send(200, _completion(body, content=full[: len(full) // 2],
                                            finish_reason="length" if kind == "plan_truncated" else "stop"))
            else:
                self._send(200, _completion(body, content=_fenced(full) if reply.kind == "fenced" else full))
        elif reply.kind == "malformed":
            self._send(200, _completion(body, content='{"prompt": "a wide shot of'))
        elif reply.kind == "invalid":
            self._send(200, _completion(body, content=json.dumps({"prompt": "only a prompt"})))
        elif reply.kind == "refusal":
            self._send(200, _completion(body, content=None, refusal="I can't help with that request."))
        else:
            answer = json.dumps(structured_reply(body), ensure_ascii=False)
            self._send(200, _completion(body, content=_fenced(answer) if reply.kind == "fenced" else answer))


def _fenced(answer: str) -> str:
    return f"```json\n{answer}\n```"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The benchmark opens 8+ keep-alive connections at once; the default backlog of 5 can stall accepts.
    request_queue_size = 128
    state: _State


class FakeOpenAIServer:
    """Start with `start()` (or as a context manager); `base_url` is what the OpenAI client needs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0,
                 reject_json_schema: bool = False, require_key: str | None = None) -> None:
        self._httpd = _Server((host, port), _Handler)
        self._httpd.state = _State(latency=latency, reject_json_schema=reject_json_schema, require_key=require_key)
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> _State:
        return self._httpd.state

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def set_latency(self, seconds: float) -> None:
        with self.state.lock:
            self.state.latency = seconds

    def set_reject_json_schema(self, reject: bool) -> None:
        with self.state.lock:
            self.state.reject_json_schema = reject

    def script(self, *replies: Reply | str) -> None:
        """Queue replies for the next requests, in order; afterwards the server answers normally."""
        with self.state.lock:
            for reply in replies:
                self.state.script.append(Reply(reply) if isinstance(reply, str) else reply)

    @property
    def max_in_flight(self) -> int:
        with self.state.lock:
            return self.state.max_in_flight

    def clear(self) -> None:
        with self.state.lock:
            self.state.script.clear()
            self.state.requests.clear()
            self.state.max_in_flight = 0

    def start(self) -> "FakeOpenAIServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


try:  # the fixture is only defined where pytest is importable (tests), not for the standalone server
    import pytest

    @pytest.fixture
    def openai_server() -> Iterator[FakeOpenAIServer]:
        with FakeOpenAIServer() as server:
            yield server
except ImportError:  # pragma: no cover
    pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible fake chat-completions server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept before every reply")
    parser.add_argument("--reject-json-schema", action="store_true")
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(args.host, args.port, latency=args.latency, reject_json_schema=args.reject_json_schema)
    print(f"fake OpenAI server on {server.base_url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
