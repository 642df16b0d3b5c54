"""The project archive: one zip holding everything about a script, importable into another studio.

Layout: `manifest.json` (format, counts, SHA-256 of every file), `rows/<table>.json` (every database row of the
script: storyboard versions, prompt versions, takes, jobs, comments, activity), `source/<name>.docx` (the
uploaded Word file), `assets/…` (images and clips under their content-addressed keys) and `exports/…` (the
deliverables made so far). Import inserts every row under new ids and rewrites every reference (foreign keys,
selected pointers, job dependencies, comment and activity subjects), so it works into a database that already
holds other scripts, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from core import approvals
from core.activity import log_activity
from core.assets import AssetStore
from core.authz import require
from core.db import UTCDateTime
from core.errors import ConflictError, NotFoundError, ValidationError
from core.exports import archive_checks
from core.exports.data import export_dir
from core.hashing import sha256_bytes
from core.models import (
    Activity,
    Asset,
    Base,
    CastImage,
    CastMember,
    Comment,
    Frame,
    Job,
    PromptVersion,
    Shot,
    ShotCast,
    SourceFile,
    Storyboard,
    StyleBible,
    Video,
)
from core.storage import check_key
from core.exports.files import is_partial, writing

ARCHIVE_FORMAT = 1
# Insert order: every row's parents come before it (the pointer cycles are patched after all rows exist).
TABLES: tuple[tuple[str, type[Base]], ...] = (
    ("source_files", SourceFile), ("style_bibles", StyleBible), ("videos", Video), ("storyboards", Storyboard),
    ("shots", Shot), ("frames", Frame), ("prompt_versions", PromptVersion), ("jobs", Job), ("assets", Asset),
    ("comments", Comment), ("activity", Activity),
    ("cast_members", CastMember), ("cast_images", CastImage), ("shot_cast", ShotCast),
)
OPTIONAL_TABLES = {"cast_members", "cast_images", "shot_cast"}  # absent from archives made before the cast
KEYLESS_TABLES = {"shot_cast"}  # link rows: (shot, member), no id of their own
# Activity and comment subjects, by the table their ids live in.
SUBJECT_TABLES = {"source_file": "source_files", "video": "videos", "storyboard": "storyboards", "shot": "shots",
                  "frame": "frames", "prompt": "prompt_versions", "prompt_version": "prompt_versions",
                  "job": "jobs", "asset": "assets", "comment": "comments"}


@dataclass(frozen=True)
class ArchiveSummary:
    path: Path
    rows: dict[str, int]
    files: int
    size_bytes: int


@dataclass(frozen=True)
class ImportResult:
    source_file_id: int
    rows: dict[str, int]
    files: int
    id_maps: dict[str, dict[int, int]] = field(default_factory=dict)


# ---- export -------------------------------------------------------------------------------------------------

def export_archive(session: Session, file_id: int, *, data_dir: Path, out: Path,
                   include_exports: bool = True, store: AssetStore | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ArchiveSummary:
    """One script as a zip: its rows, source, takes and (optionally) its exports. Stored bytes come from `store`
    (default: the data dir's own files); exports are always this process's local folder."""
    rows = _collect_rows(session, file_id)
    data_dir = Path(data_dir)
    store = store or AssetStore(data_dir)
    files: dict[str, bytes] = {}
    source = rows["source_files"][0]
    try:
        # Only the content-addressed name a script's file has (a row that names anything else is never followed).
        stored = archive_checks.source_name(source)
        files[f"source/{PurePosixPath(stored).name}"] = store.storage.get(stored)
    except (NotFoundError, ValidationError):
        pass  # the source file is gone (or its name is not a script's): the rows still travel
    stored_rows = rows["assets"] + rows["cast_images"]
    for done, asset in enumerate(stored_rows, 1):  # reading the takes is the long part (object storage)
        if progress is not None:
            progress(done, len(stored_rows))
        key = str(asset["storage_key"])
        try:
            files[key] = store.read(key)
        except (NotFoundError, ValidationError):
            # A take whose file is gone: the row still travels, the import reports the file missing. (Storage
            # that cannot be reached is an error: an archive must not silently lose takes.)
            continue
    if include_exports:
        root = export_dir(data_dir, file_id)
        if root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file() and not is_partial(p)):
                files[f"exports/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    counts = {name: len(v) for name, v in rows.items()}
    manifest = {
        "format": ARCHIVE_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "title": source["title"],
        "source_file_id": file_id,
        "rows": counts,
        "files": {name: sha256_bytes(data) for name, data in files.items()},
    }
    with writing(out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        for name, table_rows in rows.items():
            zf.writestr(f"rows/{name}.json", json.dumps(table_rows, ensure_ascii=False, default=_json_default))
        for name, data in files.items():
            # Media are already compressed; storing them saves time for nothing lost.
            kind = zipfile.ZIP_STORED if name.startswith("assets/") else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=kind)
    return ArchiveSummary(out, counts, len(files), out.stat().st_size)


def _collect_rows(session: Session, file_id: int) -> dict[str, list[dict[str, Any]]]:
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    videos = list(session.scalars(select(Video).where(Video.source_file_id == file_id).order_by(Video.id)))
    boards = _all(session, Storyboard, Storyboard.video_id.in_([v.id for v in videos]))
    shots = _all(session, Shot, Shot.storyboard_id.in_([b.id for b in boards]))
    shot_ids = [s.id for s in shots]
    frames = _all(session, Frame, Frame.shot_id.in_(shot_ids))
    frame_ids = [f.id for f in frames]
    return {
        "source_files": [_row(source)],
        "style_bibles": [_row(r) for r in _all(session, StyleBible, StyleBible.source_file_id == file_id)],
        "videos": [_row(r) for r in videos],
        "storyboards": [_row(r) for r in boards],
        "shots": [_row(r) for r in shots],
        "frames": [_row(r) for r in frames],
        "prompt_versions": [_row(r) for r in _all(session, PromptVersion, PromptVersion.frame_id.in_(frame_ids))],
        "jobs": [_row(r) for r in _all(session, Job, or_(Job.frame_id.in_(frame_ids), Job.shot_id.in_(shot_ids)))],
        "assets": [_row(r) for r in _all(session, Asset, or_(Asset.frame_id.in_(frame_ids),
                                                              Asset.shot_id.in_(shot_ids)))],
        "comments": [_row(r) for r in _all(session, Comment, or_(
            (Comment.subject_type == "frame") & Comment.subject_id.in_(frame_ids),
            (Comment.subject_type == "shot") & Comment.subject_id.in_(shot_ids)))],
        "activity": [_row(r) for r in _all(session, Activity, Activity.source_file_id == file_id)],
        **_cast_rows(session, file_id, shot_ids),
    }


def _cast_rows(session: Session, file_id: int, shot_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """The course's cast and sets, their reference images and which shots show them."""
    members = _all(session, CastMember, CastMember.source_file_id == file_id)
    member_ids = [m.id for m in members]
    links = session.scalars(select(ShotCast).where(ShotCast.shot_id.in_(shot_ids), ShotCast.member_id.in_(member_ids))
                            .order_by(ShotCast.shot_id, ShotCast.member_id))
    return {"cast_members": [_row(r) for r in members],
            "cast_images": [_row(r) for r in _all(session, CastImage, CastImage.member_id.in_(member_ids))],
            "shot_cast": [_row(r) for r in links]}


def _all(session: Session, model: type[Base], where: Any) -> list[Any]:
    return list(session.scalars(select(model).where(where).order_by(model.id)))  # type: ignore[attr-defined]


def _row(obj: Base) -> dict[str, Any]:
    return {c.name: getattr(obj, _attribute(type(obj), c)) for c in obj.__table__.columns}


@lru_cache(maxsize=None)  # a handful of (model, column) pairs, asked for every row of an archive
def _attribute(model: type[Base], column: Any) -> str:
    """The mapped attribute holding `column`: the archive names columns as the tables do, and the models may not
    (`shots.narration` is `Shot.narration_text`; `Shot.narration` is the text read from the video's body)."""
    return sa_inspect(model).get_property_by_column(column).key


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in an archive")


# ---- import -------------------------------------------------------------------------------------------------

def import_archive(session: Session, archive: Path | bytes, *, data_dir: Path, actor: str = "",
                   max_uncompressed_bytes: int = 2 * 1024**3, store: AssetStore | None = None) -> ImportResult:
    """Recreate an archived script in this studio under new ids; nothing is written if anything is wrong."""
    require("edit")
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive) if isinstance(archive, bytes) else archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise ValidationError(f"This is not a studio archive (not a readable zip: {err})") from None
    with zf:
        if sum(i.file_size for i in zf.infolist()) > max_uncompressed_bytes:
            raise ValidationError("This archive unpacks to more than the studio accepts")
        manifest = _read_json(zf, "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
            raise ValidationError("This archive was made by an incompatible studio version (format "
                                  f"{manifest.get('format') if isinstance(manifest, dict) else '?'})")
        expected = manifest.get("files", {})
        if not isinstance(expected, dict):
            raise ValidationError("The archive is damaged (its manifest lists no files)")
        files: dict[str, bytes] = {}
        for name, digest in expected.items():
            try:
                data = zf.read(name)
            except KeyError:
                raise ValidationError(f"The archive is damaged: {str(name)[:80]} is listed but missing") from None
            if sha256_bytes(data) != digest:
                raise ValidationError(f"The archive is damaged: {name} does not match its checksum")
            files[name] = data
        names = set(zf.namelist())
        rows = {name: _read_json(zf, f"rows/{name}.json") if name not in OPTIONAL_TABLES or
                f"rows/{name}.json" in names else [] for name, _ in TABLES}
    archive_checks.check_shape(rows, [name for name, _ in TABLES if name not in KEYLESS_TABLES])
    if len(rows["source_files"]) != 1:
        raise ValidationError("The archive must hold exactly one script")
    archive_checks.check_files(files, rows)  # every stored name content-addressed, every file accounted for
    result = _insert_all(session, rows, actor=actor)
    # What an archive says was approved is checked, not trusted: rows edited since their approval arrive
    # "changed since approved" (logged), and approvals from before fingerprints are stamped as they arrive.
    approvals.note_changes(session, result.id_maps["frames"].values(), actor=actor, cause="archive import")
    approvals.note_shot_changes(session, result.id_maps["shots"].values(), actor=actor, cause="archive import")
    approvals.stamp_unrecorded(session, result.id_maps["frames"].values(), result.id_maps["shots"].values(),
                               actor=actor)
    _write_files(files, rows, Path(data_dir), result.source_file_id, store or AssetStore(data_dir))
    log_activity(session, "archive.import", actor=actor, source_file_id=result.source_file_id,
                 subject_type="source_file", subject_id=result.source_file_id,
                 original_id=manifest.get("source_file_id"), exported_at=manifest.get("exported_at"))
    session.flush()
    return ImportResult(result.source_file_id, result.rows, len(files), result.id_maps)


def _read_json(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(zf.read(name).decode("utf-8"))
    except KeyError:
        raise ValidationError(f"This is not a studio archive ({name} is missing)") from None
    except ValueError:
        raise ValidationError(f"The archive is damaged ({name} is not valid JSON)") from None


def _insert_all(session: Session, rows: dict[str, list[dict[str, Any]]], *, actor: str) -> ImportResult:
    source_rows = rows["source_files"]
    if len(source_rows) != 1:
        raise ValidationError("The archive must hold exactly one script")
    existing = session.scalar(select(SourceFile).where(SourceFile.sha256 == source_rows[0]["sha256"]))
    if existing is not None:
        raise ConflictError(f"This script is already in the studio as “{existing.title or existing.original_name}” "
                            f"(script {existing.id}); archive or remove it before importing it again")
    maps: dict[str, dict[int, int]] = {name: {} for name, _ in TABLES}

    def ref(table: str, old: Any) -> int | None:
        if old is None:
            return None
        try:
            return maps[table][int(old)]
        except (KeyError, ValueError, TypeError):
            raise ValidationError(f"The archive is inconsistent: {table} row {old} is referenced but missing") \
                from None

    parents: dict[str, dict[str, str]] = {
        "style_bibles": {"source_file_id": "source_files"},
        "videos": {"source_file_id": "source_files"},
        "storyboards": {"video_id": "videos"},
        "shots": {"storyboard_id": "storyboards"},
        "frames": {"shot_id": "shots"},
        "prompt_versions": {"frame_id": "frames"},
        "jobs": {"frame_id": "frames", "shot_id": "shots", "prompt_version_id": "prompt_versions"},
        "assets": {"frame_id": "frames", "shot_id": "shots", "job_id": "jobs", "prompt_version_id": "prompt_versions"},
        "activity": {"source_file_id": "source_files"},
        "cast_members": {"source_file_id": "source_files"},
        "cast_images": {"member_id": "cast_members"},
        "shot_cast": {"shot_id": "shots", "member_id": "cast_members"},
    }
    # Filled in once every row exists: pointers that form cycles or point forward.
    deferred = {"shots": {"selected_clip_id": "assets", "selected_voice_id": "assets"},
                "frames": {"selected_prompt_id": "prompt_versions", "selected_image_id": "assets"},
                "prompt_versions": {"based_on_id": "prompt_versions"}}
    created: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    for table, model in TABLES:
        created[table] = []
        for raw in rows[table]:
            values = _values(model, raw)
            for column, target in parents.get(table, {}).items():
                values[column] = ref(target, raw.get(column))
            for column in deferred.get(table, {}):
                values[column] = None
            if table == "jobs":
                values = archive_checks.as_history(values)  # finished history: nothing to resume or pay for here
                values["depends_on"], values["input_asset_ids"] = [], []
            if table == "comments":
                values["subject_id"] = ref(SUBJECT_TABLES[str(raw["subject_type"])], raw["subject_id"])
            if table == "activity":
                subject_table = SUBJECT_TABLES.get(str(raw.get("subject_type") or ""))
                old = raw.get("subject_id")
                if old is not None and subject_table and int(old) in maps[subject_table]:
                    values["subject_id"] = maps[subject_table][int(old)]
                elif old is not None:
                    # A subject outside the archive (or already gone): keep its old id for the record.
                    values["subject_id"] = None
                    values["detail"] = {**(raw.get("detail") or {}), "archived_subject_id": old}
            obj = model(**values)
            session.add(obj)
            session.flush()
            if "id" in raw:  # shot_cast has a composite key and nothing points at it
                maps[table][int(raw["id"])] = obj.id  # type: ignore[attr-defined]
            created[table].append((obj, raw))
    for table, columns in deferred.items():
        for obj, raw in created[table]:
            for column, target in columns.items():
                setattr(obj, column, ref(target, raw.get(column)))
    for obj, raw in created["jobs"]:
        obj.depends_on = [ref("jobs", j) for j in raw.get("depends_on") or [] if int(j) in maps["jobs"]]
        obj.input_asset_ids = [ref("assets", a) for a in raw.get("input_asset_ids") or []
                               if int(a) in maps["assets"]]
    session.flush()
    new_id = maps["source_files"][int(source_rows[0]["id"])]
    return ImportResult(new_id, {t: len(r) for t, r in rows.items()}, 0, maps)


def _values(model: type[Base], raw: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.key == "id" or column.name not in raw:
            continue
        value = raw[column.name]
        if value is not None and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value)
        values[_attribute(model, column)] = value
    return values


def _write_files(files: dict[str, bytes], rows: dict[str, list[dict[str, Any]]], data_dir: Path,
                 new_file_id: int, store: AssetStore) -> None:
    stored_name = str(rows["source_files"][0]["stored_name"])
    for name, data in files.items():
        if name.startswith("assets/"):
            ext = name.rsplit(".", 1)[-1]
            if store.put(data, ext) != name:
                raise ValidationError(f"The archive is damaged: {name} does not match its content")
        elif name.startswith("source/"):
            if not stored_name.startswith("sources/"):
                raise ValidationError("The archive names a source file outside the sources folder")
            check_key(stored_name)  # a ValidationError for "..", absolute paths and the like
            if not store.storage.exists(stored_name):
                store.storage.put(stored_name, data)
        elif name.startswith("exports/"):
            root = export_dir(data_dir, new_file_id)
            target = root / PurePosixPath(name).relative_to("exports")
            if not _inside(target, root):
                raise ValidationError(f"The archive names a file outside its folder: {name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False
