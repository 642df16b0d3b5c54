"""The seam between the job worker and whatever renders: submit, poll, fetch, cancel.

The worker only ever talks to a `RenderProvider`. Two implementations: `OfflineProvider` here (Pillow cards and
PyAV clips, rendered synchronously on submit) and `HiggsProvider` in `higgs_provider.py`. Both are idempotent
by key: submitting again with a key already seen returns the first request, so a restarted worker never renders
(or pays) twice.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from core.assets import AssetStore
from core.errors import NotFoundError, ProviderError, ValidationError
from core.render.media import MediaInfo, verify_media
from core.settings import Settings

JobKind = Literal["image", "clip", "voice"]
RemoteState = Literal["queued", "running", "completed", "failed", "nsfw", "canceled"]
STORE_SCHEME = "store:"  # an input or output that lives in our own asset store
REQUESTS_PREFIX = "offline_requests"  # the offline provider's request records, in the asset store's storage


@dataclass(frozen=True)
class InputImage:
    """A start or end image of a clip, as the worker found it in the store."""

    asset_id: int
    storage_key: str
    content_type: str
    remote_url: str | None = None  # a public URL that is still valid, if the image came from the provider
    created_at: datetime | None = None


@dataclass(frozen=True)
class RenderSpec:
    """Everything a provider needs to render one job; built by the worker from the job row."""

    job_id: int
    kind: JobKind
    model: str
    prompt: str
    negative_prompt: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    start: InputImage | None = None
    end: InputImage | None = None
    input_urls: Mapping[str, str] = field(default_factory=dict)  # from prepare(), persisted on the job
    reference_urls: tuple[str, ...] = ()  # cast / set reference images, uploaded once (core.cast.reference_url)


@dataclass(frozen=True)
class Submitted:
    request_id: str
    status_url: str | None = None
    cancel_url: str | None = None


@dataclass(frozen=True)
class RemoteResult:
    state: RemoteState
    output_urls: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class RenderOutput:
    """Verified bytes of a finished render."""

    data: bytes
    info: MediaInfo
    remote_url: str | None = None


class RenderProvider(Protocol):
    """What the worker drives. Every method may raise `core.errors.ProviderError` (with `retryable`)."""

    name: str

    def model_for(self, kind: JobKind) -> str: ...

    def takes_end_frame(self) -> bool: ...

    def prepare(self, spec: RenderSpec) -> dict[str, str]:
        """Input image URLs the provider can read (uploading local images if needed): {"start": …, "end": …}."""
        ...

    def submit(self, spec: RenderSpec, idempotency_key: str) -> Submitted: ...

    def poll(self, request_id: str, status_url: str | None) -> RemoteResult: ...

    def fetch(self, spec: RenderSpec, result: RemoteResult) -> RenderOutput: ...

    def cancel(self, request_id: str, cancel_url: str | None) -> bool:
        """True when the remote request was canceled (only possible while it is queued)."""
        ...

    def price(self, kind: JobKind) -> tuple[float | None, float | None]:
        """(usd, credits) of one render of `kind` as the provider prices it; None where it cannot tell."""
        ...

    def poll_delays(self) -> Iterator[float]: ...

    def deadline_s(self, kind: JobKind) -> float: ...


class OfflineProvider:
    """Renders storyboard cards and push-in clips locally, at submit time, for free.

    A request is a small JSON record `offline_requests/<id>.json` in the store's storage, named by the idempotency
    key and pointing at the rendered bytes: a second submit with the same key (after a crash) finds it, and, with
    shared object storage, so does a worker on another machine that takes the job over.
    """

    name = "offline"
    IMAGE_MODEL = "offline"
    CLIP_MODEL = "offline-clip"

    def __init__(self, store: AssetStore, *, clip_duration_s: float = 5.0, max_bytes: int = 200 * 1024 * 1024,
                 clip_size: tuple[int, int] = (640, 360)) -> None:
        self.store = store
        self.clip_duration_s = clip_duration_s
        self.max_bytes = max_bytes
        self.clip_size = clip_size

    def model_for(self, kind: JobKind) -> str:
        return self.IMAGE_MODEL if kind == "image" else self.CLIP_MODEL

    def takes_end_frame(self) -> bool:
        return True

    def prepare(self, spec: RenderSpec) -> dict[str, str]:
        urls = {}
        for role, image in (("start", spec.start), ("end", spec.end)):
            if image is not None:
                urls[role] = STORE_SCHEME + image.storage_key
        return urls

    def submit(self, spec: RenderSpec, idempotency_key: str) -> Submitted:
        request_id = f"offline-{idempotency_key}"
        record = self._record_key(request_id)
        if self.store.storage.exists(record):
            return Submitted(request_id)
        data, ext = self._render(spec, take=idempotency_key)
        key = self.store.put(data, ext)
        self.store.storage.put(record, json.dumps({"storage_key": key, "kind": spec.kind}).encode())
        return Submitted(request_id)

    def poll(self, request_id: str, status_url: str | None) -> RemoteResult:
        try:
            info = json.loads(self.store.storage.get(self._record_key(request_id)))
        except (NotFoundError, ValueError):
            return RemoteResult("failed", error="The offline render was lost from the storage; retry it")
        return RemoteResult("completed", (STORE_SCHEME + info["storage_key"],))

    def fetch(self, spec: RenderSpec, result: RemoteResult) -> RenderOutput:
        url = result.output_urls[0]
        data = self.store.read(url.removeprefix(STORE_SCHEME))
        return RenderOutput(data, verify_media(data, kind=spec.kind, max_bytes=self.max_bytes))

    def cancel(self, request_id: str, cancel_url: str | None) -> bool:
        return False  # rendered at submit: there is never a queued request to cancel

    def price(self, kind: JobKind) -> tuple[float | None, float | None]:
        return 0.0, 0.0

    def poll_delays(self) -> Iterator[float]:
        return itertools.repeat(0.0)

    def deadline_s(self, kind: JobKind) -> float:
        return 300.0

    def _render(self, spec: RenderSpec, *, take: str = "") -> tuple[bytes, str]:
        """The bytes of one render. `take` (the idempotency key) seeds an image card's composition: it belongs to
        the take, not to the job's input hash, so a re-roll (a new job, a new key) draws a new card while a
        retried job (the same key, and the request record found before this runs) never renders twice."""
        if spec.kind == "image":
            from core.render.offline_image import render_card

            card = dict(spec.params.get("card") or {})
            refs = []
            for ref in spec.params.get("references") or []:
                key = ref.get("storage_key") if isinstance(ref, dict) else None
                if key and self.store.exists(key):
                    refs.append((str(ref.get("member", "")), self.store.read(key)))
            return render_card(prompt=spec.prompt, label=str(card.get("label", "")),
                               shot_size=str(card.get("shot_size", "")), scene_text=str(card.get("scene_text", "")),
                               palette=str(card.get("palette", "")), references=refs, take=take), "png"
        from core.render.offline_clip import render_clip

        if spec.start is None:
            raise ValidationError("A clip needs a start image")
        start = self.store.read(spec.start.storage_key)
        end = self.store.read(spec.end.storage_key) if spec.end is not None else None
        duration = float(spec.params.get("duration") or self.clip_duration_s)
        w, h = self.clip_size
        return render_clip(start, end, duration_s=duration, width=w, height=h), "mp4"

    @staticmethod
    def _record_key(request_id: str) -> str:
        safe = "".join(ch for ch in request_id if ch.isalnum() or ch in "-_")
        return f"{REQUESTS_PREFIX}/{safe}.json"


class UnavailableProvider:
    """Stands in for a provider that is not configured here: every job sent to it fails with `reason`, so a queue
    never waits forever on a renderer that cannot run."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def _refuse(self) -> ProviderError:
        return ProviderError(self.reason, category="config")

    def model_for(self, kind: JobKind) -> str:
        return ""

    def takes_end_frame(self) -> bool:
        return False

    def prepare(self, spec: RenderSpec) -> dict[str, str]:
        raise self._refuse()

    def submit(self, spec: RenderSpec, idempotency_key: str) -> Submitted:
        raise self._refuse()

    def poll(self, request_id: str, status_url: str | None) -> RemoteResult:
        raise self._refuse()

    def fetch(self, spec: RenderSpec, result: RemoteResult) -> RenderOutput:
        raise self._refuse()

    def cancel(self, request_id: str, cancel_url: str | None) -> bool:
        raise self._refuse()

    def price(self, kind: JobKind) -> tuple[float | None, float | None]:
        return None, None

    def poll_delays(self) -> Iterator[float]:
        return itertools.repeat(0.0)

    def deadline_s(self, kind: JobKind) -> float:
        return 0.0


def make_provider(name: str, settings: Settings, store: AssetStore | None = None) -> RenderProvider:
    """The provider called `name` ("offline" or "higgs"), configured from `settings`."""
    store = store or AssetStore.from_settings(settings)
    if name == "offline":
        return OfflineProvider(store, clip_duration_s=settings.clip_duration_s, max_bytes=settings.max_download_bytes)
    if name == "higgs":
        if settings.higgs_credentials is None:
            return UnavailableProvider("higgs", "Higgs is not configured on the machine running the worker: set "
                                       "HF_KEY (\"id:secret\") or HF_API_KEY and HF_API_SECRET there.")
        from core.render.higgs_provider import HiggsProvider

        return HiggsProvider.from_settings(settings, store)
    raise ValidationError(f"Unknown renderer {name!r}: choose 'offline' or 'higgs'")


def make_providers(settings: Settings, store: AssetStore | None = None) -> dict[str, RenderProvider]:
    """Every provider a worker serves: offline always, Higgs (or a stand-in that explains why not), and the
    voices (`core.voice.render`: voice jobs run in the same queue)."""
    from core.voice.render import make_voice_providers

    store = store or AssetStore.from_settings(settings)
    providers: dict[str, RenderProvider] = {name: make_provider(name, settings, store) for name in ("offline", "higgs")}
    providers.update(make_voice_providers(settings, store))
    return providers
