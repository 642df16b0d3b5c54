"""`GET /assets/{id}`: the bytes of a rendered image or clip, with its content type."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from core.api.deps import RuntimeDep, SessionDep
from core.api.errors import errors_doc
from core.api.schemas import MAX_ID
from core.errors import NotFoundError
from core.models import Asset

router = APIRouter(tags=["assets"])

_BYTES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The asset's bytes (an image or a video).",
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "video/mp4": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/assets/{asset_id}", response_class=FileResponse, responses={**_BYTES, **errors_doc()})
def read_asset(
    asset_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, runtime: RuntimeDep
) -> FileResponse:
    """The stored bytes; `Content-Type` is the asset's (`image/png`, `video/mp4`, …)."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(f"There is no asset with id {asset_id}.")
    # A local file either way (a cached download from object storage): FileResponse streams it with ranges.
    try:
        path = runtime.assets.open_local(asset.storage_key)
    except NotFoundError:
        raise NotFoundError(f"The file of asset {asset_id} is missing from the asset storage.",
                            category="missing") from None
    return FileResponse(path, media_type=asset.content_type, filename=None)
