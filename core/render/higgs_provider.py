"""The Higgs provider: adapts `core.higgs.HiggsClient` to the worker's seam.

It reads the account's model list with the published input schemas itself (at its first job, then again after
`core.higgs.published.TTL_S`) and stores it in the data dir's model cache, so the studio's pages, quotes and
requests decide end frames and durations from the same schemas the request bodies are built from. Before the
first paid submit of a model in this process it checks the model is still offered to the account and that our
body fits its published input schema (a 422 after paying nothing is fine, but a retired slug or a wrong field
name should be said plainly before a batch). Local start / end images are uploaded once per job
(the worker stores the URLs, so a resubmit sends the identical body); outputs are downloaded at once, verified,
and kept in the asset store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from core.assets import AssetStore
from core.errors import ProviderError
from core.higgs import HiggsClient, PollSchedule, check_body, client_from_settings, clip_body, image_body
from core.higgs import published
from core.higgs.schema import end_frame_field, reference_field, with_references
from core.render.media import verify_media
from core.render.providers import InputImage, JobKind, RemoteResult, RenderOutput, RenderSpec, Submitted
from core.settings import Settings

# Higgs deletes outputs about 7 days after completion; reuse an output URL as an input only well before that.
REMOTE_URL_TTL = timedelta(days=5)
_STATES = {"queued": "queued", "in_progress": "running", "completed": "completed", "failed": "failed",
           "nsfw": "nsfw", "canceled": "canceled"}


class HiggsProvider:
    name = "higgs"

    def __init__(self, client: HiggsClient, store: AssetStore, *, image_model: str, video_model: str,
                 max_bytes: int, image_deadline_s: float = 600.0, clip_deadline_s: float = 2400.0,
                 schedule: PollSchedule | None = None, settings: Settings | None = None) -> None:
        self.client = client
        self.settings = settings  # where the model list read here is shared (the data dir's model cache)
        self.store = store
        self.image_model = image_model
        self.video_model = video_model
        self.max_bytes = max_bytes
        self.image_deadline = image_deadline_s
        self.clip_deadline = clip_deadline_s
        self.schedule = schedule or client.poll
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._schemas: dict[str, dict[str, Any]] | None = None
        self._schemas_at = 0.0  # monotonic time of the read
        self._checked: set[str] = set()
        self._prices: dict[str, tuple[float | None, float | None]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, store: AssetStore, **client_overrides: Any) -> HiggsProvider:
        client = client_from_settings(settings, **client_overrides)
        return cls(client, store, image_model=settings.higgs_image_model, video_model=settings.higgs_video_model,
                   max_bytes=settings.max_download_bytes, image_deadline_s=settings.image_deadline_s,
                   clip_deadline_s=settings.clip_deadline_s, settings=settings)

    # ---- what it renders with ----------------------------------------------------------------------------
    def model_for(self, kind: JobKind) -> str:
        return self.image_model if kind == "image" else self.video_model

    def takes_end_frame(self) -> bool:
        """From the video model's published input schema (an end-frame field: `last_frame_url`,
        `tail_image_url`, …), else from what `core.higgs.schema` knows of it."""
        return end_frame_field(self.video_model, self.schema_of(self.video_model)) is not None

    def models(self, *, raise_errors: bool = False, refresh: bool = False) -> dict[str, dict[str, Any]] | None:
        """The account's models with their published schemas, read at the first use and again once older than
        `published.TTL_S` (or with `refresh`), and shared through the data dir's model cache. A failed read keeps
        the previous list (None when there is none, or the error itself with `raise_errors`)."""
        def fresh() -> bool:
            age = time.monotonic() - self._schemas_at
            return self._schemas is not None and age < (published.MISSING_RETRY_S if refresh else published.TTL_S)

        with self._lock:
            if fresh():
                return self._schemas
        with self._reading:  # the worker's threads start together: one of them reads, the others wait for it
            with self._lock:
                if fresh():
                    return self._schemas
            try:
                schemas = self.client.models()
            except ProviderError:
                with self._lock:
                    if self._schemas is not None or not raise_errors:
                        return self._schemas
                raise
            with self._lock:
                self._schemas, self._schemas_at = schemas, time.monotonic()
        creds = self.settings.higgs_credentials if self.settings is not None else None
        if self.settings is not None and creds is not None:
            published.remember(self.settings.data_dir, self.settings.higgs_base_url, creds[0], schemas)
        return schemas

    def schema_of(self, slug: str) -> dict[str, Any] | None:
        """The model's published input schema; None when it cannot be had (then the spec table answers)."""
        schemas = self.models()
        found = schemas.get(slug) if schemas is not None else None
        return found if isinstance(found, dict) and found else None

    def body(self, spec: RenderSpec) -> dict[str, Any]:
        aspect = str(spec.params.get("aspect_ratio") or "16:9")
        field = self.reference_field(spec.model)
        if spec.kind == "image":
            body = image_body(spec.model, prompt=spec.prompt, aspect_ratio=aspect, schema=self.schema_of(spec.model))
            return with_references(body, field, list(spec.reference_urls))
        start = spec.input_urls.get("start")
        if not start:
            raise ProviderError("The clip has no start image URL; render the first frame's image first",
                                category="dependency")
        body = clip_body(spec.model, prompt=spec.prompt, start_url=start, end_url=spec.input_urls.get("end"),
                         duration=int(spec.params.get("duration") or 5), aspect_ratio=aspect,
                         schema=self.schema_of(spec.model))
        return with_references(body, field, list(spec.reference_urls))

    # ---- references (the cast and sets) --------------------------------------------------------------------
    def reference_field(self, slug: str) -> tuple[str, bool] | None:
        """Where `slug` takes reference images, from its published schema, else from what `core.higgs.schema`
        knows of it."""
        schemas = self.models()
        return reference_field(slug, schemas.get(slug)) if schemas is not None and slug in schemas else \
            reference_field(slug)

    def takes_references(self, kind: JobKind, slug: str | None = None) -> bool:
        return self.reference_field(slug or self.model_for(kind)) is not None

    def upload(self, data: bytes, content_type: str) -> str:
        return self.client.upload_image(data, content_type or "image/png")

    # ---- the seam ------------------------------------------------------------------------------------------
    def prepare(self, spec: RenderSpec) -> dict[str, str]:
        urls: dict[str, str] = {}
        for role, image in (("start", spec.start), ("end", spec.end)):
            if image is None or (role == "end" and not self.takes_end_frame()):
                continue
            urls[role] = self._public_url(image)
        return urls

    def submit(self, spec: RenderSpec, idempotency_key: str) -> Submitted:
        body = self.body(spec)
        self.check_model(spec.model, body)
        sub = self.client.submit(spec.model, body, idempotency_key=idempotency_key)
        return Submitted(sub.request_id, sub.status_url, sub.cancel_url)

    def poll(self, request_id: str, status_url: str | None) -> RemoteResult:
        st = self.client.status(request_id, status_url=status_url)
        state = _STATES.get(st.status, "running")  # an unknown status is still running, under the deadline
        if state == "completed":
            urls = ((st.video_url,) if st.video_url else ()) + st.image_urls
            if not urls:
                return RemoteResult("failed", error="Higgs reported the render as completed but sent no file")
            return RemoteResult("completed", urls)
        return RemoteResult(state, error=st.error)  # type: ignore[arg-type]

    def fetch(self, spec: RenderSpec, result: RemoteResult) -> RenderOutput:
        url = result.output_urls[0]
        data, _declared = self.client.download(url, max_bytes=self.max_bytes)
        info = verify_media(data, kind=spec.kind, max_bytes=self.max_bytes)
        return RenderOutput(data, info, url)

    def cancel(self, request_id: str, cancel_url: str | None) -> bool:
        return self.client.cancel(request_id, cancel_url=cancel_url)

    def price(self, kind: JobKind) -> tuple[float | None, float | None]:
        """Priced once per model and process from the estimate endpoint, with a typical body."""
        model = self.model_for(kind)
        with self._lock:
            if model in self._prices:
                return self._prices[model]
        sample = RenderSpec(job_id=0, kind=kind, model=model, prompt="A presenter in a classroom",
                            params={"duration": 5}, input_urls={"start": "https://example.invalid/start.png"})
        try:
            est = self.client.estimate(model, self.body(sample))
        except ProviderError:
            return None, None  # not cached: the next job asks again
        price = (est.usd, est.credits) if est is not None else (None, None)
        with self._lock:
            self._prices[model] = price
        return price

    def poll_delays(self) -> Iterator[float]:
        return self.schedule.delays()

    def deadline_s(self, kind: JobKind) -> float:
        return self.image_deadline if kind == "image" else self.clip_deadline

    # ---- checks before paying ------------------------------------------------------------------------------
    def check_model(self, slug: str, body: dict[str, Any]) -> None:
        """Once per model and process: the slug is offered to this account and the body fits its schema."""
        with self._lock:
            if slug in self._checked:
                return
        schemas = self.models(raise_errors=True) or {}
        if slug not in schemas:  # offered since the list was read?
            schemas = self.models(raise_errors=True, refresh=True) or {}
        if slug not in schemas:
            raise ProviderError(f"The model {slug!r} is not available to this Higgs account (it may have been "
                                "retired); choose another model in the settings.", category="config")
        problems = check_body(schemas[slug], body)
        if problems:
            raise ProviderError(f"Our request does not fit the model {slug!r}: {'; '.join(problems)}. Nothing was "
                                "paid; choose another model or report this.", category="rejected")
        with self._lock:
            self._checked.add(slug)

    def _public_url(self, image: InputImage) -> str:
        if image.remote_url and image.created_at is not None:
            created = image.created_at if image.created_at.tzinfo else image.created_at.replace(tzinfo=UTC)
            if datetime.now(UTC) - created < REMOTE_URL_TTL:
                return image.remote_url
        data = self.store.read(image.storage_key)
        return self.client.upload_image(data, image.content_type or "image/png")
