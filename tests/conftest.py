"""Shared fixtures. Every test gets its own data dir; `runtime` runs once on SQLite and once on PostgreSQL.

PostgreSQL: one throwaway database per test process (named with the pid and a random suffix), migrated once,
truncated between tests, dropped at the end, so parallel runs never collide. In CI (CI=true) an unreachable
PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text

from core.db import make_engine, make_session_factory, migrate
from core.models import Base
from core.runtime import Runtime
from core.settings import Settings, load_settings

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REAL_DOCX = Path(__file__).resolve().parents[2] / "shared" / "real_docx"


def _pg_available() -> bool:
    try:
        eng = make_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI must not skip it")
        pytest.skip("PostgreSQL not reachable")
    name = f"cvs_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    eng = make_engine(url)
    migrate(eng)
    eng.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_pg(url: str) -> None:
    """Empty every table of the PostgreSQL database at `url` (ids restart)."""
    eng = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    eng.dispose()


def make_test_settings(data_dir: Path, db_url: str | None = None, **overrides: object) -> Settings:
    """Settings isolated from the developer's environment and secrets file."""
    env = {"STUDIO_DATA_DIR": str(data_dir)}
    if db_url:
        env["DATABASE_URL"] = db_url
    return load_settings(env, secrets_file=data_dir / "no-secrets.toml", **overrides)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studio.db'}"
    url: str = request.getfixturevalue("pg_url")
    truncate_pg(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_test_settings(tmp_path / "data", db_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    migrate(engine)
    yield Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine))
    engine.dispose()


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """SQLite only, for tests where the backend does not matter."""
    settings = make_test_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'studio.db'}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    migrate(engine)
    yield Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine))
    engine.dispose()


@pytest.fixture
def real_docx() -> Path:
    assert REAL_DOCX.is_dir(), f"shared test data missing at {REAL_DOCX}"
    return REAL_DOCX


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser and multi-process tests share one xdist worker (`--dist loadgroup`), one after another: run side
    by side on a 2-core machine they starve each other's subprocesses into time-outs."""
    for item in items:
        if item.get_closest_marker("e2e") or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("heavy"))


@pytest.fixture(autouse=True)
def _model_lists_stay_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without the model lists an earlier one read (`core.higgs.published`), and none asks the
    real Higgs API for one: settings left at the default host (with test keys) get the "no list" answer."""
    from core.higgs import published

    real = published._fetch

    def local_only(settings: Settings) -> dict[str, dict[str, object]]:
        if "higgsfield.ai" in settings.higgs_base_url:
            raise ConnectionError("tests do not ask the real Higgs API for its model list")
        return real(settings)

    published.forget()
    monkeypatch.setattr(published, "_fetch", local_only)
    yield
    published.forget()
