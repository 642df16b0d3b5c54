"""A voice as a `RenderProvider`, so the job worker runs voice jobs with the same leases, retries and states.

Synthesis happens at submit (like the offline renderer): the checked, normalised take is stored, then a small
record `voice_requests/<key>.json` names it. A second submit with the same idempotency key (a retried or resumed
job) finds the record and never calls the voice again, so it never pays twice. Narration longer than one request
takes (`Voice.max_chars`) is asked in pieces (`core.voice.chunks`), and each piece's audio is stored as it
arrives with its own record, `voice_requests/<key>-piece-<n>.json`: a job retried after piece n failed (a 429)
asks only for pieces n and after, not again for the ones already paid. A voice reports no price: the job
is priced by `core.money` for the characters it speaks × the rate card, as its estimate was.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator

import numpy as np

from core.assets import AssetStore
from core.errors import NotFoundError, ProviderError, StudioError
from core.render.media import MediaInfo
from core.render.providers import STORE_SCHEME, JobKind, RemoteResult, RenderOutput, RenderSpec, Submitted
from core.settings import Settings
from core.voice.audio import decode, prepare, to_wav, verify_audio
from core.voice.chunks import speech_chunks
from core.voice.providers import Voice, make_voice, worker_provider_name
from core.voice.style import VOICE_PROVIDERS

REQUESTS_PREFIX = "voice_requests"


class VoiceRenderProvider:
    def __init__(self, name: str, store: AssetStore, voice: Voice | None, *, max_bytes: int,
                 unavailable: str | None = None) -> None:
        self.name = name
        self.store = store
        self.voice = voice
        self.max_bytes = max_bytes
        self.unavailable = unavailable

    def model_for(self, kind: JobKind) -> str:
        return self.voice.model if self.voice is not None else ""

    def takes_end_frame(self) -> bool:
        return False

    def prepare(self, spec: RenderSpec) -> dict[str, str]:
        return {}

    def submit(self, spec: RenderSpec, idempotency_key: str) -> Submitted:
        request_id = f"{self.name}-{idempotency_key}"
        record = _record_key(request_id)
        if self.store.storage.exists(record):
            return Submitted(request_id)
        if self.voice is None:
            raise ProviderError(self.unavailable or "This voice is not available here", category="config")
        speed = float(spec.params.get("speed") or 1.0)
        raw = self._speak(spec.prompt, voice=str(spec.params.get("voice") or ""), speed=speed,
                          request_id=request_id, idempotency_key=idempotency_key)
        take = prepare(raw, characters=len(spec.prompt), speed=speed, max_bytes=self.max_bytes)
        key = self.store.put(take.wav, "wav")
        self.store.storage.put(record, json.dumps({"storage_key": key, "duration_s": take.duration_s}).encode())
        return Submitted(request_id)

    def _speak(self, text: str, *, voice: str, speed: float, request_id: str, idempotency_key: str) -> bytes:
        """The narration's audio: one request, or the pieces' audio joined in order, each piece stored (under the
        job's key) before the next is asked for, and taken from the store when a retry finds it there."""
        assert self.voice is not None
        limit = self.voice.max_chars
        pieces = speech_chunks(text, limit) if limit else []
        if len(pieces) <= 1:
            return self.voice.synthesize(text, voice=voice, speed=speed, idempotency_key=idempotency_key)
        samples = []
        for n, piece in enumerate(pieces, start=1):
            record = _record_key(f"{request_id}-piece-{n}")
            digest = hashlib.sha256(piece.encode("utf-8")).hexdigest()
            stored = self._stored_piece(record, digest)
            if stored is None:
                stored = self.voice.synthesize(piece, voice=voice, speed=speed,
                                               idempotency_key=f"{idempotency_key}-{n}")
                samples.append(decode(stored))  # audio that does not decode is not kept as a paid piece
                key = self.store.put(stored, "wav")
                self.store.storage.put(record, json.dumps({"storage_key": key, "text_sha256": digest}).encode())
            else:
                samples.append(decode(stored))
        return to_wav(np.concatenate(samples))

    def _stored_piece(self, record: str, digest: str) -> bytes | None:
        """A piece's audio stored by an earlier attempt of the same job (for the same text), else None."""
        try:
            info = json.loads(self.store.storage.get(record))
            if info.get("text_sha256") != digest:
                return None
            return self.store.read(str(info["storage_key"]))
        except (StudioError, ValueError, KeyError, TypeError, AttributeError):  # missing or unreadable: ask again
            return None

    def poll(self, request_id: str, status_url: str | None) -> RemoteResult:
        try:
            info = json.loads(self.store.storage.get(_record_key(request_id)))
        except (NotFoundError, ValueError):
            return RemoteResult("failed", error="The narration audio was lost from the storage; retry it")
        return RemoteResult("completed", (STORE_SCHEME + info["storage_key"],))

    def fetch(self, spec: RenderSpec, result: RemoteResult) -> RenderOutput:
        data = self.store.read(result.output_urls[0].removeprefix(STORE_SCHEME))
        info: MediaInfo = verify_audio(data, max_bytes=self.max_bytes)
        return RenderOutput(data, info)

    def cancel(self, request_id: str, cancel_url: str | None) -> bool:
        return False  # spoken at submit: never a queued request to cancel

    def price(self, kind: JobKind) -> tuple[float | None, float | None]:
        return None, None  # no reported price: the rate card prices its characters (core.money)

    def poll_delays(self) -> Iterator[float]:
        return itertools.repeat(0.0)

    def deadline_s(self, kind: JobKind) -> float:
        return 300.0


def make_voice_providers(settings: Settings, store: AssetStore) -> dict[str, VoiceRenderProvider]:
    """A worker's voices: offline always; OpenAI, or a stand-in that explains why its jobs cannot run."""
    out: dict[str, VoiceRenderProvider] = {}
    for provider in VOICE_PROVIDERS:
        name = worker_provider_name(provider)
        try:
            out[name] = VoiceRenderProvider(name, store, make_voice(settings, provider),
                                            max_bytes=settings.max_download_bytes)
        except ProviderError as err:
            out[name] = VoiceRenderProvider(name, store, None, max_bytes=settings.max_download_bytes,
                                            unavailable=str(err))
    return out


def _record_key(request_id: str) -> str:
    safe = "".join(ch for ch in request_id if ch.isalnum() or ch in "-_")
    return f"{REQUESTS_PREFIX}/{safe}.json"
