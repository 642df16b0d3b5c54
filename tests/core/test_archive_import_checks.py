"""Archive import trusts nothing it names (issue 13, item 7): a source row naming `studio.db`, a take stored
outside the content-addressed layout or a file no row names is refused before anything is written; jobs arrive as
finished history (no pending render, no lease owner, no remote request to resume). Both databases."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import ValidationError
from core.exports.archive import export_archive, import_archive
from core.hashing import sha256_bytes
from core.jobs import Worker
from core.models import Job, SourceFile
from core.runtime import Runtime
from tests.core.test_export_archive import archived  # noqa: F401 - the fixture: a script archived elsewhere

Rows = dict[str, list[dict[str, Any]]]


def _rewrite(path: Path, *, rows: Callable[[Rows], None] | None = None,
             files: Callable[[dict[str, bytes]], None] | None = None) -> bytes:
    """The archive at `path` with its rows and files changed, its manifest checksums made to match again (what
    someone crafting an archive would do)."""
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        table_rows = {n[5:-5]: json.loads(zf.read(n)) for n in zf.namelist() if n.startswith("rows/")}
        stored = {n: zf.read(n) for n in manifest["files"]}
    if rows:
        rows(table_rows)
    if files:
        files(stored)
    manifest["files"] = {n: sha256_bytes(d) for n, d in stored.items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, value in table_rows.items():
            zf.writestr(f"rows/{name}.json", json.dumps(value))
        for name, data in stored.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _source_is_the_database(rows: Rows) -> None:
    rows["source_files"][0]["stored_name"] = "studio.db"


def _take_outside_the_layout(rows: Rows) -> None:
    rows["assets"][0]["storage_key"] = "../studio.db"


def _take_under_another_digest(rows: Rows) -> None:
    rows["assets"][0]["storage_key"] = "assets/00/" + "0" * 64 + ".png"


def _jobs_not_a_list(rows: Rows) -> None:
    rows["jobs"] = {"1": "pending"}  # type: ignore[assignment]


def _a_file_no_row_names(files: dict[str, bytes]) -> None:
    files["assets/ab/" + "ab" * 32 + ".sh"] = b"#!/bin/sh\n"


def _a_file_outside_the_folders(files: dict[str, bytes]) -> None:
    files["studio.db"] = b"SQLite format 3\x00"


@pytest.mark.parametrize("rows, files, message", [
    (_source_is_the_database, None, "studio.db"),
    (_take_outside_the_layout, None, "not where its content belongs"),
    (_take_under_another_digest, None, "not where its content belongs"),
    (_jobs_not_a_list, None, "rows/jobs.json"),
    (None, _a_file_no_row_names, "no take of the script names"),
    (None, _a_file_outside_the_folders, "outside source/, assets/ and exports/"),
])
def test_an_archive_naming_what_is_not_its_own_is_refused(runtime: Runtime, archived: Any,  # noqa: F811
                                                          rows: Any, files: Any, message: str) -> None:
    _, summary, _ = archived
    crafted = _rewrite(summary.path, rows=rows, files=files)
    with runtime.sessions() as session:
        with pytest.raises(ValidationError, match=message):
            import_archive(session, crafted, data_dir=runtime.data_dir)
        session.rollback()
        assert session.scalar(select(func.count()).select_from(SourceFile)) == 0


def test_a_source_row_naming_the_database_never_ships_it(runtime: Runtime, archived: Any,  # noqa: F811
                                                         tmp_path: Path) -> None:
    """Even a row already in the database (imported before the check existed) is not followed on export."""
    _, summary, _ = archived
    with runtime.sessions() as session:
        result = import_archive(session, summary.path.read_bytes(), data_dir=runtime.data_dir)
        session.get(SourceFile, result.source_file_id).stored_name = "studio.db"
        session.commit()
        (runtime.data_dir / "studio.db").write_bytes(b"SQLite format 3\x00 every script of the studio")
        out = export_archive(session, result.source_file_id, data_dir=runtime.data_dir, out=tmp_path / "x.zip")
    with zipfile.ZipFile(out.path) as zf:
        assert not any(b"every script of the studio" in zf.read(n) for n in zf.namelist())


def test_jobs_arrive_as_finished_history(runtime: Runtime, archived: Any) -> None:  # noqa: F811
    _, summary, _ = archived

    def pending_and_leased(rows: Rows) -> None:
        for job in rows["jobs"]:
            job.update(status="pending", lease_owner="their-worker:42", lease_expires_at="2999-01-01T00:00:00+00:00",
                       remote_request_id="their-request", not_before="2999-01-01T00:00:00+00:00")

    crafted = _rewrite(summary.path, rows=pending_and_leased)
    with runtime.sessions() as session:
        theirs = {j["idempotency_key"] for j in json.loads(zipfile.ZipFile(io.BytesIO(crafted))
                                                           .read("rows/jobs.json"))}
        import_archive(session, crafted, data_dir=runtime.data_dir)
        session.commit()
        jobs = list(session.scalars(select(Job)))
    assert jobs
    assert {j.status for j in jobs} == {"canceled"} and {j.error_category for j in jobs} == {"imported"}
    assert all(j.lease_owner is None and j.lease_expires_at is None and j.not_before is None for j in jobs)
    assert all(j.remote_request_id is None for j in jobs)
    assert not {j.idempotency_key for j in jobs} & theirs
    assert Worker(runtime, idle_s=0.01).run(drain=True) == 0  # nothing to render, nobody to pay
