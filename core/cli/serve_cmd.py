"""`python -m core serve [--host 127.0.0.1] [--port 8000] [--no-worker]`: the HTTP API on uvicorn.

The API token comes from `CVS_API_TOKEN` (read when the command runs, never at import). Without a token the
API refuses to listen anywhere but the loopback interface, so an open port is never an open pipeline.
"""

from __future__ import annotations

import argparse
import os

from core.errors import StudioError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_ENV = "CVS_API_TOKEN"


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback host when no token is configured."""
    if not token and host not in LOOPBACK_HOSTS:
        raise StudioError(
            f"Refusing to serve on {host} without an API token: set {TOKEN_ENV} (clients then send "
            f"'Authorization: Bearer <token>') or use --host 127.0.0.1.",
            category="insecure_bind",
        )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from core.api import create_app
    from core.jobs import ensure_background_worker, stop_background_workers
    from core.runtime import open_runtime

    token = os.environ.get(TOKEN_ENV, "").strip() or None
    check_bind(args.host, token)
    runtime = open_runtime()
    if not args.no_worker:
        # The same in-process worker the studio starts: jobs queued through the API run here.
        ensure_background_worker(runtime)
    app = create_app(runtime, api_token=token)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        stop_background_workers()  # hand leased jobs back to the queue instead of waiting for the lease
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("serve", help="serve the HTTP API (FastAPI on uvicorn)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (non-loopback needs CVS_API_TOKEN)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-worker", action="store_true", help="do not run the background job worker here")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.set_defaults(handler=serve)
