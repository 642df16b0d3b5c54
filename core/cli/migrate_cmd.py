"""`python -m core migrate`: bring the database (`DATABASE_URL`, else the data dir's SQLite file) to the latest
schema, then say where it stands. Every process also migrates when it starts (`open_runtime`); this command is
for a deploy step that runs once before the new version's processes start.
"""

from __future__ import annotations

import argparse

from sqlalchemy import text

from core.runtime import open_runtime
from core.settings import redact_url


def _migrate(args: argparse.Namespace) -> int:
    runtime = open_runtime()  # migrates under the PostgreSQL advisory lock, so parallel deploy steps are safe
    try:
        with runtime.engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        runtime.engine.dispose()
    print(f"database {redact_url(runtime.settings.db_url)} is at revision {revision}")
    print(f"assets are stored in {runtime.assets.storage.description}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("migrate", help="upgrade the database schema to the latest revision")
    parser.set_defaults(handler=_migrate)
