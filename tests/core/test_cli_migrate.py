"""`python -m core migrate`, and processes that start together on a fresh PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from core.cli import main as cli_main
from core.db import make_engine
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_pg(pg_url: str) -> Iterator[str]:
    """An empty PostgreSQL database (no schema at all), dropped afterwards."""
    name = f"cvs_fresh_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrate_brings_a_new_sqlite_database_to_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("STORAGE_URL", raising=False)
    assert cli_main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "studio.db is at revision" in out and f"stored in {(tmp_path / 'data').resolve()}" in out
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'studio.db'}")
    assert {"jobs", "assets", "source_files"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_processes_starting_together_on_a_fresh_postgres_all_come_up(fresh_pg: str, tmp_path: Path) -> None:
    # Studio replicas and workers of a new deployment start at once; each migrates on start. Without the
    # advisory lock all but one crashed creating the same tables.
    env = {**os.environ, "DATABASE_URL": fresh_pg, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "core", "migrate"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**env, "STUDIO_DATA_DIR": str(tmp_path / f"p{n}")}) for n in range(4)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-800:] for _, err in results]
    revisions = {out.split("is at revision ")[1].split()[0] for out, _ in results}
    assert len(revisions) == 1 and "postgres@" in results[0][0]
