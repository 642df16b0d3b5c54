"""`POST /files/extract` (upload a Word script) and `GET /files/{id}/storyboard`."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile

from core.api.deps import RuntimeDep, SessionDep
from core.api.errors import errors_doc
from core.api.schemas import MAX_ID, ExtractOut, StoryboardOut
from core.api.views import storyboard_out
from core.errors import IngestError
from core.ingest.validate import upload_limit_text
from core.library import ingest_file

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


def clean_filename(name: str | None) -> str:
    """The client's file name, display-only: no path, no control characters, bounded length."""
    cleaned = _UNSAFE_NAME.sub("_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    return (cleaned or "upload.docx")[:200]


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The upload's bytes, reading at most `limit` + 1 so an oversized file is refused without holding it."""
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise IngestError(f"The file is over the {upload_limit_text(limit)} upload limit.", category="too_large")
    return data


EXTRACT_PATH = "/files/extract"


def build_router() -> APIRouter:
    """The files router. The upload's wire limit is `core.api.limits.BodyLimitMiddleware`'s (see app.py)."""
    router = APIRouter(tags=["files"])

    @router.post(
        EXTRACT_PATH,
        response_model=ExtractOut,
        responses=errors_doc(409, 415, s422="Rejected file (category: corrupt, encrypted, empty, no_text, …)."),
    )
    def extract(
        file: Annotated[UploadFile, File(description="The Word script (.docx).")],
        session: SessionDep,
        runtime: RuntimeDep,
        shots: Annotated[int | None, Query(ge=1, le=200, description="Shots per video (default: settings).")] = None,
        frames: Annotated[int | None, Query(ge=1, le=50, description="Frames per shot (default: settings).")] = None,
    ) -> ExtractOut:
        """Store the script (deduplicated by its bytes), split it into videos and build their storyboards.

        The same bytes uploaded twice return the same `file_id` with `created: false`.
        """
        data = read_upload(file, runtime.settings.max_upload_bytes)
        result = ingest_file(
            session,
            data,
            clean_filename(file.filename),
            settings=runtime.settings,
            shots=shots,
            frames=frames,
            actor="api",
        )
        session.commit()
        board = storyboard_out(session, result.source_file_id)
        return ExtractOut(**board.model_dump(), created=result.created)

    @router.get("/files/{file_id}/storyboard", response_model=StoryboardOut, responses=errors_doc())
    def read_storyboard(file_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep) -> StoryboardOut:
        """The stored storyboard: videos → shots → frames (current storyboard version of each video)."""
        return storyboard_out(session, file_id)

    return router
