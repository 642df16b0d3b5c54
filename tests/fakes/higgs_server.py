"""A local server speaking the Higgs (Higgsfield) protocol of `shared/higgs_api.md`, over real HTTP.

Routes: `POST /{slug...}` submit (Idempotency-Key: same key + same body → the same request, charged once;
same key + another body → 422), `GET /requests/{id}/status`, `POST /requests/{id}/cancel` (202 while queued,
else 400), `POST /files/generate-upload-url` + `PUT /uploads/{token}` (the returned headers are required),
`GET /files/{token}`, `GET /models?include_schema=true`, `POST /estimate/{slug}`, and outputs — a real PNG
(Pillow) or a real H.264 MP4 (PyAV, made once) — at `GET /outputs/{id}/…`, which need no key (like a CDN).
API routes demand `Authorization: Key id:secret` (401); every route refuses Python's default User-Agents
with a 403 that reads like a credits problem, as the real CDN does.

A request is `queued` for `queue_s`, `in_progress` until `latency_s`, then terminal: `completed` (charged),
or `failed` / `nsfw` at the configured rates (never charged). Random faults, rolled per submit / status with
a seeded RNG: the 400 concurrency limit, 429 with Retry-After, 5xx (502/504 after accepting the request),
hangs past the client timeout (after accepting), and dropped connections (after accepting). Exact tests
queue `Scripted` replies per route instead; `publish` offers a model (and its schema) the shared page does not
list. Counters: `submits`, `created_requests`, `charged_requests`, `polls` per request id, and every request
record.

Standalone: ``python tests/fakes/higgs_server.py --port 8100 --latency 2`` (see ``--help`` for the knobs).
In tests: ``with FakeHiggsServer(latency_s=0.2) as server: HiggsClient(base_url=server.base_url, ...)``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import random
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

DEFAULT_KEY_ID = "test-key-id"
DEFAULT_KEY_SECRET = "test-key-secret"
PYTHON_DEFAULT_AGENTS = ("python-urllib", "python-requests", "python-httpx", "aiohttp")
ROUTES = ("submit", "status", "cancel", "upload_url", "upload", "models", "estimate", "output")

_URL = {"type": "string", "minLength": 1}
_RATIO = {"type": "string", "enum": ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9"]}
# Input schemas for the slugs of the shared page; some forbid unknown fields, as the real ones do.
SCHEMAS: dict[str, dict[str, Any]] = {
    "higgsfield-ai/soul/standard": {
        "type": "object", "required": ["prompt"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string", "minLength": 1}, "aspect_ratio": _RATIO,
                       "resolution": {"type": "string", "enum": ["720p", "1080p"]}}},
    "bytedance/seedream/v4/text-to-image": {
        "type": "object", "required": ["prompt"],
        "properties": {"prompt": {"type": "string"}, "aspect_ratio": _RATIO,
                       "resolution": {"type": "string", "enum": ["1K", "2K", "4K"]}}},
    "flux-pro/kontext/max/text-to-image": {
        "type": "object", "required": ["prompt"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string"}, "aspect_ratio": _RATIO, "seed": {"type": "integer"},
                       "safety_tolerance": {"type": "integer", "minimum": 1, "maximum": 6}}},
    "kling-video/v2.1/pro/image-to-video": {
        "type": "object", "required": ["image_url", "prompt"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string"}, "image_url": _URL}},
    "kling-video/v2.6/pro/image-to-video": {
        "type": "object", "required": ["image_url", "prompt"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string"}, "image_url": _URL,
                       "duration": {"type": "integer", "enum": [5, 10]},
                       "cfg_scale": {"type": "number", "minimum": 0, "maximum": 1}, "aspect_ratio": _RATIO,
                       "sound": {"type": "string", "enum": ["on", "off"]}}},
    # A start + tail image model (Kling's own field names): the end frame under `tail_image_url`.
    "kling-video/v2.5-turbo/pro/image-to-video": {
        "type": "object", "required": ["image_url", "prompt"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string"}, "image_url": _URL, "tail_image_url": _URL,
                       "duration": {"type": "integer", "enum": [5, 10]}, "negative_prompt": {"type": "string"}}},
    "kling-video/omni/first-last-frame": {
        "type": "object", "required": ["first_frame_url", "prompt"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string"}, "first_frame_url": _URL, "last_frame_url": _URL,
                       "duration": {"type": "integer", "enum": [5, 10]},
                       "mode": {"type": "string", "enum": ["std", "pro"]}, "aspect_ratio": _RATIO}},
    # Reference-taking models (the cast and sets): several reference images in a list field.
    "bytedance/seedream/v4/edit": {
        "type": "object", "required": ["prompt"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string"}, "aspect_ratio": _RATIO,
                       "resolution": {"type": "string", "enum": ["1K", "2K", "4K"]},
                       "image_urls": {"type": "array", "items": _URL, "minItems": 1, "maxItems": 10}}},
    # A reference-taking video model: a start frame, and identity references in their own list field.
    "kling-video/o1/reference-to-video": {
        "type": "object", "required": ["prompt", "image_url"], "additionalProperties": False,
        "properties": {"prompt": {"type": "string"}, "image_url": _URL, "aspect_ratio": _RATIO,
                       "duration": {"type": "integer", "enum": [5, 10]},
                       "reference_image_urls": {"type": "array", "items": _URL, "minItems": 1, "maxItems": 4}}},
}
# Prices as strings, like the real estimate route; the omni model answers with a description instead.
PRICES: dict[str, dict[str, str]] = {
    "higgsfield-ai/soul/standard": {"credits": "1.5", "usd": "0.094"},
    "bytedance/seedream/v4/text-to-image": {"credits": "2", "usd": "0.125"},
    "flux-pro/kontext/max/text-to-image": {"credits": "3", "usd": "0.19"},
    "kling-video/v2.1/pro/image-to-video": {"credits": "20", "usd": "1.25"},
    "kling-video/v2.6/pro/image-to-video": {"credits": "25", "usd": "1.56"},
    "kling-video/v2.5-turbo/pro/image-to-video": {"credits": "14", "usd": "0.875"},
    "bytedance/seedream/v4/edit": {"credits": "2", "usd": "0.125"},
    "kling-video/o1/reference-to-video": {"credits": "24", "usd": "1.5"},
    "kling-video/omni/first-last-frame": {"pricing": "Priced per second of video: 4 credits/s (std), 7 (pro)"},
}


def is_video_slug(slug: str) -> bool:
    low = slug.lower()
    return "video" in low or "kling" in low or "first-last" in low


def make_png(seed: str, size: tuple[int, int] = (320, 180)) -> bytes:
    """A real PNG whose colours derive from `seed`, so different requests give different files."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(seed.encode()).digest()
    img = Image.new("RGB", size, tuple(digest[:3]))
    ImageDraw.Draw(img).rectangle([size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4],
                                  fill=tuple(digest[3:6]))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def tiny_mp4() -> bytes:
    """A real 1 s, 24 fps, 128×72 H.264 MP4, encoded once per process with PyAV."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 128, 72, "yuv420p"
        for i in range(24):
            frame = np.full((72, 128, 3), (i * 10) % 256, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


@dataclass(frozen=True)
class Scripted:
    """One scripted reply for a route, used instead of the normal one.

    `action`: ``respond`` (send `status` with `body` JSON or `raw` bytes), ``hang`` (sleep `delay` seconds,
    longer than the client's timeout, then answer normally), ``drop`` (close the connection without a reply),
    ``truncate`` (declare the full length, send half, close). `process=True` runs the real handler first, so
    e.g. a submit is accepted (and may be charged) although the client never sees the reply; a ``hang`` with
    `process=False` handles the request only after the delay, as if it arrived late.
    """

    action: Literal["respond", "hang", "drop", "truncate"] = "respond"
    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    process: bool = False
    delay: float = 0.0

    @classmethod
    def error(cls, status: int, detail: Any = "error", *, retry_after: float | None = None,
              process: bool = False) -> Scripted:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(status=status, body={"detail": detail}, headers=headers, process=process)

    @classmethod
    def hang(cls, seconds: float, *, process: bool = True) -> Scripted:
        return cls(action="hang", delay=seconds, process=process)

    @classmethod
    def drop(cls, *, process: bool = True) -> Scripted:
        return cls(action="drop", process=process)


@dataclass
class RemoteRequest:
    """One generation request as the server sees it."""

    request_id: str
    slug: str
    body: dict[str, Any]
    idempotency_key: str | None
    created: float
    queue_s: float
    latency_s: float
    result: str  # what it will end as: completed | failed | nsfw
    canceled: bool = False
    charged: bool = False
    finished_wall: datetime | None = None

    def status_at(self, now: float) -> str:
        elapsed = now - self.created
        if self.canceled:
            return "canceled"
        if elapsed < self.queue_s:
            return "queued"
        if elapsed < self.latency_s:
            return "in_progress"
        return self.result


@dataclass
class Knobs:
    """Server behaviour. Rates are probabilities in [0, 1] rolled per request."""

    latency_s: float = 2.0
    queue_s: float = 0.0
    concurrency_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_s: float = 1.0
    server_error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 31.0
    drop_rate: float = 0.0
    nsfw_rate: float = 0.0
    failed_rate: float = 0.0
    max_concurrent: int | None = None
    credits: float | None = None  # account balance; None = unlimited
    image_size: tuple[int, int] = (320, 180)


@dataclass
class _State:
    knobs: Knobs
    key_id: str
    key_secret: str
    models: set[str]
    status_prefix: str = "/requests"
    # Per-server models beyond the shared page's (`publish`): their schemas, kinds (video or not) and prices.
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    video: dict[str, bool] = field(default_factory=dict)
    prices: dict[str, dict[str, str]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    scripts: dict[str, deque[Scripted]] = field(default_factory=lambda: {r: deque() for r in ROUTES})
    requests: dict[str, RemoteRequest] = field(default_factory=dict)
    by_key: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (body fingerprint, request id)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)  # authorised requests per route, faults included
    polls: Counter[str] = field(default_factory=Counter)
    status_paths: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    keyed_downloads: int = 0  # output or upload requests that carried the API key (must stay 0)
    spent_credits: float = 0.0


def _schema_of(st: _State, slug: str) -> dict[str, Any]:
    return st.schemas[slug] if slug in st.schemas else SCHEMAS.get(slug, {"type": "object"})


def _is_video(st: _State, slug: str) -> bool:
    return st.video[slug] if slug in st.video else is_video_slug(slug)


def _fingerprint(slug: str, body: Any) -> str:
    return hashlib.sha256(json.dumps([slug, body], sort_keys=True).encode()).hexdigest()


def _now_iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _settle(st: _State, req: RemoteRequest, now: float) -> str:
    """Current status; the first time a request is seen completed it is charged (caller holds the lock)."""
    status = req.status_at(now)
    if status in ("completed", "failed", "nsfw") and req.finished_wall is None:
        req.finished_wall = datetime.now(UTC)
        if status == "completed":
            req.charged = True
            price = PRICES.get(req.slug, {}).get("credits")
            st.spent_credits += float(price) if price else 0.0
    return status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms to every reply.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---- replies ---------------------------------------------------------------------------------
    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None,
                    *, truncate: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Correlation-ID", str(uuid.uuid4()))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if truncate else data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            self.close_connection = True

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # ---- dispatch --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET", b"")

    def do_POST(self) -> None:
        self._dispatch("POST", self._body())

    def do_PUT(self) -> None:
        self._dispatch("PUT", self._body())

    def _route(self, method: str, path: str) -> tuple[str, list[str]]:
        parts = [p for p in path.split("/") if p]
        st = self.server.state
        prefix = [p for p in st.status_prefix.split("/") if p]
        for base in (prefix, ["requests"]):
            if parts[: len(base)] == base and len(parts) == len(base) + 2:
                tail = parts[len(base):]
                if method == "GET" and tail[1] == "status":
                    return "status", [tail[0], "/".join(base)]
                if method == "POST" and tail[1] == "cancel":
                    return "cancel", [tail[0]]
        if method == "GET" and parts == ["models"]:
            return "models", []
        if method == "POST" and parts == ["files", "generate-upload-url"]:
            return "upload_url", []
        if method == "PUT" and len(parts) == 2 and parts[0] == "uploads":
            return "upload", [parts[1]]
        if method == "GET" and len(parts) == 2 and parts[0] == "files":
            return "output", ["file", parts[1]]
        if method == "GET" and len(parts) == 3 and parts[0] == "outputs":
            return "output", parts[1:]
        if method == "POST" and len(parts) > 1 and parts[0] == "estimate":
            return "estimate", ["/".join(parts[1:])]
        if method == "POST" and parts:
            return "submit", ["/".join(parts)]
        return "unknown", []

    def _dispatch(self, method: str, raw_body: bytes) -> None:
        st = self.server.state
        url = urlsplit(self.path)
        route, args = self._route(method, url.path)
        agent = (self.headers.get("User-Agent") or "").lower()
        if not agent or agent.startswith(PYTHON_DEFAULT_AGENTS):
            # What the CDN in front of the real API does; the body misleads on purpose, like the real one.
            return self._json(403, {"detail": "Forbidden: insufficient credits or access denied"})
        public = route in ("output", "upload")
        if public:
            if self.headers.get("Authorization"):
                with st.lock:
                    st.keyed_downloads += 1
        elif self.headers.get("Authorization") != f"Key {st.key_id}:{st.key_secret}":
            return self._json(401, {"detail": "Invalid credentials"})
        if route == "unknown":
            return self._json(404, {"detail": "Not found"})
        with st.lock:
            st.hits[route] += 1
            scripted = st.scripts[route].popleft() if st.scripts[route] else None
            if scripted is None:
                scripted = self._random_fault(route)
        handler = getattr(self, f"_on_{route}")
        result = None
        if scripted is None or scripted.process:  # accepted now, whatever the client later sees
            result = handler(args, raw_body, parse_qs(url.query))
        if scripted is None or scripted.action == "hang":
            if scripted is not None:
                st.stopping.wait(scripted.delay)
                if result is None:  # a request that arrives late (slow network in front of the service)
                    result = handler(args, raw_body, parse_qs(url.query))
            assert result is not None
            status, payload, headers = result
            if isinstance(payload, tuple):  # (bytes, content type)
                return self._send_bytes(status, payload[0], payload[1], headers)
            return self._json(status, payload, headers)
        if scripted.action == "drop":
            return self._drop()
        data = scripted.raw if scripted.raw is not None else json.dumps(scripted.body).encode()
        kind = scripted.headers.get("Content-Type", "application/json" if scripted.raw is None else "text/html")
        return self._send_bytes(scripted.status, data, kind, scripted.headers,
                                truncate=scripted.action == "truncate")

    def _random_fault(self, route: str) -> Scripted | None:
        """Roll the configured fault rates (caller holds the lock)."""
        st = self.server.state
        k = st.knobs
        if route not in ("submit", "status"):
            return None
        roll = st.rng.random()
        fault: Scripted | None = None
        edges: list[tuple[float, str]] = []
        if route == "submit":
            edges += [(k.concurrency_rate, "concurrency"), (k.rate_limit_rate, "rate_limit")]
        edges += [(k.server_error_rate, "server_error"), (k.timeout_rate, "timeout"), (k.drop_rate, "drop")]
        acc = 0.0
        for rate, name in edges:
            acc += rate
            if roll < acc:
                st.faults[f"{route}:{name}"] += 1
                if name == "concurrency":
                    fault = Scripted.error(400, "Maximum number of concurrent requests (4) has been reached")
                elif name == "rate_limit":
                    fault = Scripted.error(429, {"code": "account_queue_full", "message": "Queue is full"},
                                           retry_after=k.retry_after_s)
                elif name == "server_error":
                    code = st.rng.choice([500, 502, 503, 504])
                    # A gateway error may hide a request the backend already accepted.
                    fault = Scripted.error(code, "Internal error", process=code in (502, 504))
                elif name == "timeout":
                    fault = Scripted.hang(k.hang_s)
                else:
                    fault = Scripted.drop()
                break
        return fault

    # ---- routes: each returns (status, JSON payload or (bytes, type), headers) ----------------------
    def _on_submit(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        st = self.server.state
        slug = args[0]
        key = self.headers.get("Idempotency-Key")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"detail": "Body is not valid JSON"}, {}
        with st.lock:
            if slug not in st.models:
                return 404, {"detail": f"Model '{slug}' not found"}, {}
            fp = _fingerprint(slug, body)
            if key and key in st.by_key:
                seen_fp, request_id = st.by_key[key]
                if seen_fp != fp:
                    return 422, {"detail": "Idempotency key was already used with a different request body"}, {}
                return 200, self._submission(st.requests[request_id]), {}
            problems = _validate(st.schemas.get(slug, SCHEMAS.get(slug, {})), body)
            if problems:
                return 422, {"detail": problems}, {}
            now = time.monotonic()
            k = st.knobs
            running = sum(1 for r in st.requests.values() if _settle(st, r, now) in ("queued", "in_progress"))
            if k.credits is not None and k.credits - st.spent_credits <= 0:
                return 403, {"detail": "Not enough credits"}, {}
            if k.max_concurrent is not None and running >= k.max_concurrent:
                return 400, {"detail": f"Maximum number of concurrent requests ({k.max_concurrent}) "
                                       "has been reached"}, {}
            roll = st.rng.random()
            result = "nsfw" if roll < k.nsfw_rate else "failed" if roll < k.nsfw_rate + k.failed_rate else "completed"
            req = RemoteRequest(str(uuid.uuid4()), slug, body, key, now, min(k.queue_s, k.latency_s),
                                k.latency_s, result)
            st.requests[req.request_id] = req
            if key:
                st.by_key[key] = (fp, req.request_id)
            return 200, self._submission(req), {}

    def _submission(self, req: RemoteRequest) -> dict[str, Any]:
        base = self.server.base_url + self.server.state.status_prefix
        return {"status": "queued", "request_id": req.request_id,
                "status_url": f"{base}/{req.request_id}/status", "cancel_url": f"{base}/{req.request_id}/cancel"}

    def _on_status(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        st = self.server.state
        with st.lock:
            req = st.requests.get(args[0])
            st.polls[args[0]] += 1
            st.status_paths[args[1]] += 1
            if req is None:
                return 404, {"detail": "Request not found"}, {}
            status = _settle(st, req, time.monotonic())
            out: dict[str, Any] = {"status": status, "request_id": req.request_id}
            base = f"{self.server.base_url}/outputs/{req.request_id}"
            if status == "completed":
                if _is_video(st, req.slug):
                    out["video"] = {"url": f"{base}/video.mp4"}
                else:
                    out["images"] = [{"url": f"{base}/0.png"}]
            elif status == "failed":
                out["error"] = "Generation failed: the model could not render this input"
            if req.finished_wall is not None and status in ("completed", "failed", "nsfw"):
                out["expires_at"] = _now_iso(req.finished_wall + timedelta(days=7))
            return 200, out, {}

    def _on_cancel(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        st = self.server.state
        with st.lock:
            req = st.requests.get(args[0])
            if req is None:
                return 404, {"detail": "Request not found"}, {}
            if req.status_at(time.monotonic()) != "queued":
                return 400, {"detail": "Request is not in the queue and can no longer be canceled"}, {}
            req.canceled = True
            return 202, {"status": "canceled", "request_id": req.request_id}, {}

    def _on_upload_url(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        st = self.server.state
        content_type = (json.loads(raw or b"{}").get("content_type")) or "image/png"
        token = uuid.uuid4().hex
        headers = {"Content-Type": content_type, "x-upload-token": token}
        with st.lock:
            st.uploads[token] = {"headers": headers, "data": None}
        base = self.server.base_url
        return 200, {"public_url": f"{base}/files/{token}", "upload_url": f"{base}/uploads/{token}?sig={token[:8]}",
                     "content_type": content_type, "upload_headers": headers}, {}

    def _on_upload(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        st = self.server.state
        with st.lock:
            slot = st.uploads.get(args[0])
            if slot is None:
                return 404, {"detail": "Unknown upload URL"}, {}
            for name, value in slot["headers"].items():
                if self.headers.get(name) != value:
                    return 403, {"detail": f"SignatureDoesNotMatch: header {name} missing or different"}, {}
            slot["data"] = raw
        return 200, {}, {}

    def _on_output(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        st = self.server.state
        with st.lock:
            if args[0] == "file":
                slot = st.uploads.get(args[1])
                if slot is None or slot["data"] is None:
                    return 404, {"detail": "No such file"}, {}
                return 200, (slot["data"], slot["headers"]["Content-Type"]), {}
            req = st.requests.get(args[0])
            if req is None or _settle(st, req, time.monotonic()) != "completed":
                return 404, {"detail": "No such output"}, {}
            size = st.knobs.image_size
        if args[1].endswith(".mp4"):
            return 200, (tiny_mp4(), "video/mp4"), {}
        return 200, (make_png(req.request_id, size), "image/png"), {}

    def _on_models(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        with_schema = query.get("include_schema", ["false"])[0].lower() == "true"
        out = []
        st = self.server.state
        with st.lock:
            listed = [(slug, _is_video(st, slug), _schema_of(st, slug)) for slug in sorted(st.models)]
        for slug, video, schema in listed:
            item: dict[str, Any] = {"slug": slug, "kind": "video" if video else "image"}
            if with_schema:
                item["input_schema"] = schema
            out.append(item)
        return 200, {"models": out}, {}

    def _on_estimate(self, args: list[str], raw: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        slug = args[0]
        if slug not in self.server.state.models:
            return 404, {"detail": f"Model '{slug}' not found"}, {}
        price = dict(self.server.state.prices.get(slug) or PRICES.get(slug, {"pricing": "No price published"}))
        body = json.loads(raw or b"{}")
        if "credits" in price and body.get("duration") == 10:  # longer clips cost double
            price = {k: f"{float(v) * 2:g}" for k, v in price.items()}
        return 200, price, {}


def _validate(schema: dict[str, Any], body: Any) -> list[dict[str, Any]]:
    """FastAPI-style 422 detail items for a body that does not fit the schema."""
    import jsonschema

    if not schema:
        return []
    errors = jsonschema.Draft202012Validator(schema).iter_errors(body)
    return [{"loc": ["body", *[str(p) for p in e.absolute_path]], "msg": e.message, "type": str(e.validator)}
            for e in errors]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the benchmark holds 8+ keep-alive connections at once
    state: _State
    base_url: str


class FakeHiggsServer:
    """Start with `start()` or as a context manager; point `HiggsClient(base_url=server.base_url)` at it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, key_id: str = DEFAULT_KEY_ID,
                 key_secret: str = DEFAULT_KEY_SECRET, seed: int | None = 0, models: set[str] | None = None,
                 status_prefix: str = "/requests", schemas: dict[str, dict[str, Any]] | None = None,
                 **knobs: Any) -> None:
        self._httpd = _Server((host, port), _Handler)
        self._httpd.state = _State(knobs=Knobs(**knobs), key_id=key_id, key_secret=key_secret,
                                   models=set(SCHEMAS) if models is None else set(models),
                                   status_prefix="/" + status_prefix.strip("/"), rng=random.Random(seed))
        self._httpd.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None
        for slug, schema in (schemas or {}).items():
            self.publish(slug, schema)

    @property
    def state(self) -> _State:
        return self._httpd.state

    @property
    def knobs(self) -> Knobs:
        return self.state.knobs

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return self._httpd.base_url

    @property
    def credentials(self) -> tuple[str, str]:
        return self.state.key_id, self.state.key_secret

    def client_kwargs(self) -> dict[str, Any]:
        """`base_url`, `key_id`, `key_secret` for `HiggsClient(**server.client_kwargs(), ...)`, and a download
        policy that admits this server: it serves outputs over plain http on a loopback address, which the
        studio's default policy refuses."""
        from core.netguard import DownloadPolicy

        policy = DownloadPolicy(allowed_hosts=("127.0.0.1",), allow_private=True, allow_http=True)
        return {"base_url": self.base_url, "key_id": self.state.key_id, "key_secret": self.state.key_secret,
                "download_policy": policy}

    def upload_ledger(self) -> list[tuple[str, str]]:
        """(public URL, sha256 of the bytes) of every completed upload, in no particular order."""
        with self.state.lock:
            return [(f"{self.base_url}/files/{token}", hashlib.sha256(slot["data"]).hexdigest())
                    for token, slot in self.state.uploads.items() if slot["data"] is not None]

    def set(self, **knobs: Any) -> None:
        """Change knobs while running (e.g. `server.set(latency_s=5)`)."""
        with self.state.lock:
            for name, value in knobs.items():
                if not hasattr(self.state.knobs, name):
                    raise AttributeError(f"unknown knob {name!r}")
                setattr(self.state.knobs, name, value)

    def publish(self, slug: str, schema: dict[str, Any], *, video: bool = True,
                price: dict[str, str] | None = None) -> None:
        """Offer a model the shared page does not list (or change a listed one's schema): `video` says whether
        its results are videos; submits are validated against `schema` like every other model's."""
        with self.state.lock:
            self.state.models.add(slug)
            self.state.schemas[slug] = schema
            self.state.video[slug] = video
            if price is not None:
                self.state.prices[slug] = price

    def retire(self, slug: str) -> None:
        with self.state.lock:
            self.state.models.discard(slug)

    def script(self, route: str, *replies: Scripted) -> None:
        """Queue replies for the next requests on `route` (one of ROUTES), in order."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {ROUTES}")
        with self.state.lock:
            self.state.scripts[route].extend(replies)

    # ---- counters --------------------------------------------------------------------------------
    def _settle_all(self) -> list[RemoteRequest]:
        now = time.monotonic()
        with self.state.lock:
            for req in self.state.requests.values():
                _settle(self.state, req, now)
            return list(self.state.requests.values())

    @property
    def requests(self) -> list[RemoteRequest]:
        """Every generation request created, in creation order, with charges settled up to now."""
        return self._settle_all()

    @property
    def submits(self) -> int:
        with self.state.lock:
            return self.state.hits["submit"]

    @property
    def created_requests(self) -> int:
        with self.state.lock:
            return len(self.state.requests)

    @property
    def charged_requests(self) -> int:
        """Distinct request ids charged (completed). Resubmits under one idempotency key never add one."""
        return sum(1 for r in self._settle_all() if r.charged)

    @property
    def polls(self) -> Counter[str]:
        with self.state.lock:
            return Counter(self.state.polls)

    def charges_by_key(self) -> Counter[str | None]:
        """Charged requests per idempotency key: a value above 1 means something paid twice for one job."""
        return Counter(r.idempotency_key for r in self._settle_all() if r.charged)

    def charges_by_body(self) -> Counter[str]:
        """Charged requests per (slug, body) fingerprint: catches a client that changed keys between retries."""
        return Counter(_fingerprint(r.slug, r.body) for r in self._settle_all() if r.charged)

    # ---- lifetime --------------------------------------------------------------------------------
    def start(self) -> Self:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-higgs", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.stopping.set()  # release hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


try:  # the fixture exists where pytest is importable (tests), not for the standalone server
    import pytest

    @pytest.fixture
    def higgs_server() -> Iterator[FakeHiggsServer]:
        """A fast server: 0.2 s renders, no faults."""
        with FakeHiggsServer(latency_s=0.2) as server:
            yield server
except ImportError:  # pragma: no cover
    pass


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Local server speaking the Higgs (Higgsfield) API protocol")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--key-id", default=DEFAULT_KEY_ID)
    p.add_argument("--key-secret", default=DEFAULT_KEY_SECRET)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency", type=float, default=2.0, help="seconds from submit to a terminal status")
    p.add_argument("--queue", type=float, default=0.0, help="seconds a request stays queued (cancelable)")
    p.add_argument("--concurrency-rate", type=float, default=0.0, help="share of submits answered 400 (limit)")
    p.add_argument("--rate-limit-rate", type=float, default=0.0, help="share of submits answered 429")
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds on a 429")
    p.add_argument("--server-error-rate", type=float, default=0.0, help="share of submits/polls answered 5xx")
    p.add_argument("--timeout-rate", type=float, default=0.0, help="share of submits/polls that hang")
    p.add_argument("--hang", type=float, default=31.0, help="seconds a hang lasts (past the client timeout)")
    p.add_argument("--drop-rate", type=float, default=0.0, help="share of submits/polls whose connection drops")
    p.add_argument("--nsfw-rate", type=float, default=0.0)
    p.add_argument("--failed-rate", type=float, default=0.0)
    p.add_argument("--max-concurrent", type=int, default=None, help="real concurrency limit (400 above it)")
    p.add_argument("--credits", type=float, default=None, help="account balance (403 when spent)")
    a = p.parse_args(argv)
    server = FakeHiggsServer(a.host, a.port, key_id=a.key_id, key_secret=a.key_secret, seed=a.seed,
                             latency_s=a.latency, queue_s=a.queue, concurrency_rate=a.concurrency_rate,
                             rate_limit_rate=a.rate_limit_rate, retry_after_s=a.retry_after,
                             server_error_rate=a.server_error_rate, timeout_rate=a.timeout_rate, hang_s=a.hang,
                             drop_rate=a.drop_rate, nsfw_rate=a.nsfw_rate, failed_rate=a.failed_rate,
                             max_concurrent=a.max_concurrent, credits=a.credits)
    print(f"fake Higgs server on {server.base_url} (HF_KEY={a.key_id}:{a.key_secret})", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.state.stopping.set()
        server._httpd.server_close()


if __name__ == "__main__":
    main()
