"""What an archive may bring in: every stored name checked against the content-addressed layout, every file
accounted for, and jobs only as finished history.

An archive is untrusted input (it may come from another studio, or be hand-made): its rows name files and jobs
that this studio will later read, export and run. So, before anything is written:
- the script's source is `sources/<its sha256>.docx` and, when the archive carries it, `source/<that name>` has
  exactly those bytes (a row naming `studio.db` would otherwise make the next export of the script ship the whole
  database);
- every take's storage key is `assets/ab/<sha256>.<ext>` with the row's own sha256, and a file under `assets/` is
  the take of some row; an export is a plain relative name under `exports/`; any other name is refused;
- jobs arrive as history: one that was pending or running elsewhere becomes canceled ("imported, not rendered
  here"), with no lease, no schedule and no remote request of the other studio's account to resume (its id is
  kept in the job's history); every imported job gets a fresh idempotency key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from core.errors import ValidationError
from core.hashing import sha256_bytes
from core.models import JOB_ACTIVE

_SHA = re.compile(r"^[0-9a-f]{64}$")
_ASSET_KEY = re.compile(r"^assets/([0-9a-f]{2})/([0-9a-f]{64})\.[a-z0-9]{1,8}$")
_EXPORT_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._ -]{0,127}$")
IMPORTED_MESSAGE = "Imported from an archive: not rendered in this studio (retry it to render here)"


def source_name(row: Mapping[str, Any]) -> str:
    """The source row's stored name, which must be `sources/<sha256>.docx` for the row's own sha256."""
    digest = str(row.get("sha256") or "")
    if not _SHA.match(digest):
        raise ValidationError("The archive is inconsistent: the script's checksum is not a SHA-256")
    expected = f"sources/{digest}.docx"
    if str(row.get("stored_name") or "") != expected:
        raise ValidationError(f"The archive names the script's file {str(row.get('stored_name'))[:80]!r}; a "
                              f"script's file is always {expected!r}, so this archive is refused")
    return expected


def asset_key(row: Mapping[str, Any]) -> str:
    """A take's storage key, which must be the content-addressed key of the row's own sha256."""
    key = str(row.get("storage_key") or "")
    match = _ASSET_KEY.match(key)
    if match is None or match.group(1) != match.group(2)[:2] or match.group(2) != row.get("sha256"):
        raise ValidationError(f"The archive names a take file {key[:80]!r} that is not where its content "
                              "belongs (assets/ab/<sha256>.<ext>), so this archive is refused")
    return key


def check_files(files: Mapping[str, bytes], rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Every file of the archive is the script's source, a take of one of its rows, or an export; the source
    has the row's checksum. Raises `ValidationError` naming the first file that is none of these."""
    source = source_name(rows["source_files"][0])
    keys = {asset_key(row) for row in [*rows["assets"], *rows.get("cast_images", [])]}  # takes and cast photos
    for name, data in files.items():
        if name.startswith("source/"):
            if name != f"source/{PurePosixPath(source).name}":
                raise ValidationError(f"The archive holds a source file {name[:80]!r} its script does not name")
            if sha256_bytes(data) != rows["source_files"][0]["sha256"]:
                raise ValidationError("The archive is damaged: the script's file does not match its checksum")
        elif name.startswith("assets/"):
            if name not in keys:
                raise ValidationError(f"The archive holds a file {name[:80]!r} that no take of the script names")
        elif name.startswith("exports/"):
            parts = name.split("/")[1:]
            if not parts or not all(_EXPORT_PART.match(p) and p not in (".", "..") for p in parts):
                raise ValidationError(f"The archive names an export {name[:80]!r} outside its folder")
        else:
            raise ValidationError(f"The archive holds a file {name[:80]!r} outside source/, assets/ and exports/")


def as_history(values: dict[str, Any]) -> dict[str, Any]:
    """An archived job's values as finished history in this studio (see the module docstring)."""
    params = dict(values.get("params") or {})
    if values.get("remote_request_id"):
        params["_history"] = [*params.get("_history", []),
                              {"imported_request_id": values.get("remote_request_id"),
                               "error": values.get("error"), "category": values.get("error_category")}]
    params.pop("_remote", None)
    out = {**values, "params": params, "remote_request_id": None, "status_url": None, "lease_owner": None,
           "lease_expires_at": None, "not_before": None, "idempotency_key": uuid.uuid4().hex}
    if str(values.get("status")) in JOB_ACTIVE:
        out.update(status="canceled", error=IMPORTED_MESSAGE, error_category="imported",
                   finished_at=values.get("finished_at") or values.get("created_at"))
    return out


def check_shape(rows: Mapping[str, Any], tables: Sequence[str]) -> None:
    """Each table is a list of objects with an integer id: anything else is a damaged archive, said in words."""
    for table in tables:
        table_rows = rows.get(table)
        if not isinstance(table_rows, list) or not all(
                isinstance(r, dict) and isinstance(r.get("id"), int) and not isinstance(r.get("id"), bool)
                for r in table_rows):
            raise ValidationError(f"The archive is damaged (rows/{table}.json is not a list of rows with ids)")
