"""The HTTP API (FastAPI) over `core`. `create_app(runtime, api_token=None)` builds it; `python -m core serve`
runs it with uvicorn next to the in-process worker. See docs/api.md."""

from core.api.app import create_app

__all__ = ["create_app"]
