"""The wiring every entry point shares (CLI, studio, worker, API): settings + engine + session factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from core.assets import AssetStore
from core.db import make_engine, make_session_factory, migrate
from core.settings import Settings, load_settings

MIGRATION_LOCK_KEY = 7_240_315_001  # any constant bigint; names the studio's "migrating now" advisory lock


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session] = field(repr=False)
    _assets: AssetStore | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def assets(self) -> AssetStore:
        """The asset store of these settings (data dir or object storage), made once per runtime."""
        if self._assets is None:
            self._assets = AssetStore.from_settings(self.settings)
        return self._assets


def open_runtime(settings: Settings | None = None, *, run_migrations: bool = True) -> Runtime:
    """Create the data dir, connect, migrate the schema to head, and import a pre-0002 `rate_card.json`."""
    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    sessions = make_session_factory(engine)
    if run_migrations:
        from core.cost import import_legacy_rate_card  # cost pulls in the models; keep this import lazy

        with _migration_lock(engine):
            migrate(engine)
            import_legacy_rate_card(sessions, settings.data_dir)
    return Runtime(settings=settings, engine=engine, sessions=sessions)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, one process at a time migrates: studio replicas and workers started together on a fresh
    database would otherwise all try to create the same tables, and all but one crash. The others wait, then
    find the schema at head and do nothing. (SQLite serializes writers itself.)"""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
