"""The FastAPI application over `core`: same settings, database, job queue and worker as the studio."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from core.api.auth import BearerAuthMiddleware
from core.api.errors import install_error_handlers
from core.api.limits import BodyLimitMiddleware
from core.api.routes import assets, files, generation, jobs, prompts, review
from core.runtime import Runtime

API_VERSION = "1.0.0"
# Room for the multipart envelope (boundaries, part headers) around a file at the upload limit.
MULTIPART_OVERHEAD = 64 * 1024


def create_app(
    runtime: Runtime, *, api_token: str | None = None, fetch_client: httpx.Client | None = None
) -> FastAPI:
    """An app serving `runtime`. With `api_token`, every request needs `Authorization: Bearer <api_token>`.

    `fetch_client` downloads `start_image_url` / `end_image_url` images (default: a fresh client per request;
    tests pass one with a mock transport). The caller owns the runtime (and any background worker); the app
    only opens sessions on it.
    """
    app = FastAPI(
        title="Course Visual Studio API",
        version=API_VERSION,
        description="Word scripts → storyboards → prompts → images → clips. Errors are "
        '`{"detail": str, "category": str}`. See docs/api.md.',
    )
    app.state.runtime = runtime
    app.state.fetch_client = fetch_client
    install_error_handlers(app)
    app.include_router(files.build_router())
    app.include_router(prompts.router)
    app.include_router(generation.router)
    app.include_router(jobs.router)
    app.include_router(assets.router)
    app.include_router(review.router)
    app.add_middleware(
        BodyLimitMiddleware,
        upload_paths=frozenset({files.EXTRACT_PATH}),
        upload_body_bytes=runtime.settings.max_upload_bytes + MULTIPART_OVERHEAD,
        upload_limit_bytes=runtime.settings.max_upload_bytes,
    )
    if api_token:  # added last, so it runs first: a stranger's upload is refused before any byte is read
        app.add_middleware(BearerAuthMiddleware, token=api_token)
    _document_security(app, secured=bool(api_token))
    return app


def _document_security(app: FastAPI, *, secured: bool) -> None:
    """Declare the bearer scheme in /openapi.json when a token is required (clients and schemathesis read it)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            if secured:
                schema.setdefault("components", {})["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer"}
                }
                schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
