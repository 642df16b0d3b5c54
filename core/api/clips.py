"""Clips from explicit images (`POST /generation/video` without a shot): the thin adapter over the job queue.

`core.jobs.request_clip` renders a shot; an API client may instead name two images (asset ids or URLs) and a
motion prompt. Such a job is an ordinary clip `Job` with no shot, asked for through
`core.jobs.request_explicit_clip` (the role, the approval gate and the budget, as for every clip): its images are
in `input_asset_ids`, the URLs it was asked for in `params`, so the same worker renders it. A URL image is downloaded once (bounded, checked
to be an image) into the asset store, with the URL kept as `remote_url` so Higgs can fetch it directly. The
download goes through `core.netguard`, like every generated-media download: https on allowed hosts, no private
addresses, redirects checked hop by hop, a size cap.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.api.schemas import ClipJobIn
from core.assets import AssetStore
from core.authz import require
from core.errors import NotFoundError, ValidationError
from core.hashing import sha256_bytes
from core.jobs.queue import quote_explicit_clip, request_explicit_clip
from core.models import Asset, Job
from core.money import Quote
from core.netguard import DownloadError, DownloadPolicy, fetch, guarded_client
from core.render.media import MediaError, verify_image
from core.settings import Settings

FETCH_TIMEOUT_S = 20.0
USER_AGENT = "CourseVisualStudio-API/1.0"


def queue_explicit_clip(
    session: Session, body: ClipJobIn, *, settings: Settings, client: httpx.Client | None = None, actor: str = "api"
) -> Job:
    """The clip job for these images and prompt: fetched (URLs) or looked up (ids), then asked for through
    `core.jobs.request_explicit_clip`, the same gates as every clip (role, approval, budget)."""
    require("render")  # before any download: a refused caller makes this API fetch nothing
    start = _image_input(session, body.start_image_id, body.start_image_url, settings=settings, client=client)
    end = None
    if body.end_image_id is not None or body.end_image_url is not None:
        end = _image_input(session, body.end_image_id, body.end_image_url, settings=settings, client=client)
    return request_explicit_clip(session, start=start, end=end, prompt=body.prompt or "", settings=settings,
                                 file_id=body.file_id, force=body.force, actor=actor)


def estimate_explicit_clip(
    session: Session, body: ClipJobIn, *, settings: Settings, client: httpx.Client | None = None
) -> Quote:
    """What `queue_explicit_clip` with this body would queue and cost (`core.jobs.quote_explicit_clip`), its
    gates answered as the request answers them; the caller rolls back (a fetched URL image is not kept)."""
    start = _image_input(session, body.start_image_id, body.start_image_url, settings=settings, client=client)
    end = None
    if body.end_image_id is not None or body.end_image_url is not None:
        end = _image_input(session, body.end_image_id, body.end_image_url, settings=settings, client=client)
    return quote_explicit_clip(session, start=start, end=end, prompt=body.prompt or "", settings=settings,
                               file_id=body.file_id, force=body.force)


def _image_input(session: Session, asset_id: int | None, url: object, *, settings: Settings,
                 client: httpx.Client | None) -> Asset:
    if asset_id is not None:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.discarded_at is not None:
            raise NotFoundError(f"There is no image asset with id {asset_id}.")
        if asset.kind != "image":
            raise ValidationError(f"Asset {asset_id} is a {asset.kind}, not an image.")
        return asset
    return fetch_image(session, str(url), settings=settings, client=client)


def fetch_image(session: Session, url: str, *, settings: Settings, client: httpx.Client | None = None) -> Asset:
    """The image at `url` as an asset (reused when the same URL gave the same bytes before)."""
    data = _download(url, DownloadPolicy.from_settings(settings), client=client)
    try:
        info = verify_image(data, max_bytes=settings.max_download_bytes)
    except MediaError as err:
        raise ValidationError(f"The image URL did not give a usable image: {err}.", category="bad_url") from None
    digest = sha256_bytes(data)
    existing = session.scalar(
        select(Asset).where(Asset.sha256 == digest, Asset.kind == "image", Asset.remote_url == url,
                            Asset.discarded_at.is_(None)).limit(1)
    )
    if existing is not None:
        return existing
    key = AssetStore.from_settings(settings).put(data, info.ext)
    asset = Asset(kind="image", sha256=digest, storage_key=key, content_type=info.content_type,
                  size_bytes=len(data), width=info.width, height=info.height, provider="url", remote_url=url)
    session.add(asset)
    session.flush()
    return asset


def _download(url: str, policy: DownloadPolicy, *, client: httpx.Client | None) -> bytes:
    """The bytes at `url` under `policy`; a refusal or failure is a `bad_url` validation error for the caller.

    `client` (tests, or an app-wide pool) is used as given and checked hop by hop; without one the guarded
    client also pins each connection to the address it checked.
    """
    own = client is None
    http = client or guarded_client(policy, timeout_s=FETCH_TIMEOUT_S, user_agent=USER_AGENT, what="The image URL")
    try:
        return fetch(url, policy, client=http, what="The image URL").data
    except DownloadError as err:
        if err.status_code is not None:
            raise ValidationError(f"Fetching the image URL gave HTTP {err.status_code}; give a reachable image "
                                  "URL.", category="bad_url") from None
        raise ValidationError(str(err), category="bad_url") from None
    finally:
        if own:
            http.close()
