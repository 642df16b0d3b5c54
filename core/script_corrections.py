"""The producer's corrections of how ingestion read a script: a table's columns turned round, a line marked as
narration or as a direction. Stored on the script (`SourceFile.ingest_overrides`) and applied on every reading.

`flip_table` and `mark_line` store the correction, then `resegment` reads the stored file again with every
correction applied and updates each video whose narration, directions or scenes changed: its old storyboard
versions keep the narration they showed (frozen into their own text, since their spans point into the old body),
and it gets a new current version cut with the same density as the board it replaces. Videos that did not change
keep their boards untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.board_layout import Density
from core.errors import NotFoundError, ValidationError
from core.models import Shot, SourceFile, Storyboard, Video
from core.settings import Settings
from core.storage import make_storage
from core.storyboard_store import rebuild_board

MarkRole = Literal["narration", "direction", "auto"]


@dataclass(frozen=True)
class TableReading:
    """How one table of a script is read: `narration` the column positions that are said (empty: the whole row is
    narration), `rows` the first rows' cells, for the producer to recognise it."""

    number: int
    width: int
    narration: tuple[int, ...]
    header_row: bool
    reason: str
    flipped: bool
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Resegmented:
    changed_video_ids: tuple[int, ...]
    versions: dict[int, int]  # video id → its new current storyboard version


def overrides_of(source: SourceFile) -> dict[str, Any]:
    raw = source.ingest_overrides or {}
    return {"flipped_tables": sorted({int(n) for n in raw.get("flipped_tables", [])}),
            "marks": {str(k): str(v) for k, v in dict(raw.get("marks", {})).items()}}


def script_tables(session: Session, file_id: int, *, settings: Settings) -> list[TableReading]:
    """Every table of the stored script with its current reading (the corrections applied)."""
    from core.ingest.segment import table_layouts  # python-docx is heavy: only when a script is read again

    source = _source(session, file_id)
    blocks = _blocks(source, settings)
    flipped = overrides_of(source)["flipped_tables"]
    layouts, _first = table_layouts(blocks, flipped=flipped)
    rows: dict[int, list[tuple[str, ...]]] = {}
    for block in blocks:
        if block.table:
            rows.setdefault(block.table, []).append(tuple(block.cells))
    return [
        TableReading(number=n, width=max(len(r) for r in rows[n]), narration=layout.narration,
                     header_row=layout.header_row, reason=layout.reason, flipped=n in flipped,
                     rows=tuple(rows[n][:3]))
        for n, layout in sorted(layouts.items())
    ]


def flip_table(session: Session, file_id: int, table: int, *, settings: Settings, actor: str = "") -> Resegmented:
    """Turn a table's reading round (its narration and picture columns swap; a table read as narration becomes
    an audio/visual table with its first column said), or back again; then read the script again."""
    require("edit")
    source = _source(session, file_id)
    numbers = {t.number for t in script_tables(session, file_id, settings=settings)}
    if table not in numbers:
        raise NotFoundError(f"The script has no table {table} (it has {len(numbers)}).")
    overrides = overrides_of(source)
    flipped = set(overrides["flipped_tables"]) ^ {table}
    source.ingest_overrides = {**overrides, "flipped_tables": sorted(flipped)}
    log_activity(session, "flip_table", actor=actor, source_file_id=file_id, subject_type="file",
                 subject_id=file_id, table=table, flipped=table in flipped)
    return resegment(session, file_id, settings=settings, actor=actor)


def mark_line(session: Session, file_id: int, text: str, role: MarkRole, *, settings: Settings,
              actor: str = "") -> Resegmented:
    """Read a line of the script (as the board shows it) as narration or as a direction from now on; "auto" gives
    it back to the rules. Then read the script again."""
    from core.ingest.segment import line_key

    require("edit")
    if role not in ("narration", "direction", "auto"):
        raise ValidationError(f"A line is marked as narration, direction or auto (got {role!r}).")
    if not text.strip():
        raise ValidationError("Choose a line of the script to mark.")
    source = _source(session, file_id)
    overrides = overrides_of(source)
    marks = dict(overrides["marks"])
    key = line_key(text.strip().removeprefix("[").removesuffix("]")) if _is_note(text) else line_key(text)
    if role == "auto":
        marks.pop(key, None)
        marks.pop(line_key(text), None)
    else:
        marks[key] = role
        if key != line_key(text):
            marks[line_key(text)] = role  # a whole-line note: as a line, and as the note it holds
    source.ingest_overrides = {**overrides, "marks": marks}
    log_activity(session, "mark_line", actor=actor, source_file_id=file_id, subject_type="file",
                 subject_id=file_id, role=role, line=text[:200])
    return resegment(session, file_id, settings=settings, actor=actor)


def resegment(session: Session, file_id: int, *, settings: Settings, actor: str = "") -> Resegmented:
    """Read the stored script again with its corrections and update the videos that changed (module docstring)."""
    from core.ingest.segment import segment_blocks

    require("edit")
    source = _source(session, file_id)
    overrides = overrides_of(source)
    content = _content(source, settings)
    seg = segment_blocks(content.blocks, title=content.title, warnings=content.warnings,
                         flipped_tables=overrides["flipped_tables"], marks=overrides["marks"])
    videos = list(session.scalars(select(Video).where(Video.source_file_id == file_id).order_by(Video.position)))
    if len(seg.videos) != len(videos):
        raise ValidationError(
            f"Read again, the script has {len(seg.videos)} videos instead of {len(videos)}; the correction was not "
            "applied. Upload the corrected script as a new file instead.")
    changed: list[int] = []
    versions: dict[int, int] = {}
    for video, segment in zip(videos, seg.videos):
        directions = [d.to_json() for d in segment.directions]
        scenes = [{"at": m.at, "title": m.title} for m in segment.scenes]
        if (video.body, list(video.directions or []), list(video.scenes or [])) == (segment.body, directions, scenes):
            continue
        current = session.scalar(select(Storyboard).where(Storyboard.video_id == video.id,
                                                          Storyboard.is_current.is_(True)))
        if segment.body != video.body:
            _freeze_narration(session, video.id)
        video.body, video.directions, video.scenes = segment.body, directions, scenes
        session.flush()
        density = _density_of(current, settings)
        board = rebuild_board(session, video.id, density, actor=actor)
        changed.append(video.id)
        versions[video.id] = board.version
    log_activity(session, "resegment", actor=actor, source_file_id=file_id, subject_type="file", subject_id=file_id,
                 videos=changed)
    return Resegmented(tuple(changed), versions)


def _density_of(board: Storyboard | None, settings: Settings) -> Density:
    """The density of the board being replaced (the settings' when there is none)."""
    if board is None:
        return Density(shots=settings.shots_per_video, frames=settings.frames_per_shot, wpm=settings.speaking_rate_wpm)
    paced = board.density == "paced" and board.pace_s is not None
    return Density(kind="paced" if paced else "fixed", shots=board.shots_requested, frames=board.frames_requested,
                   pace_s=board.pace_s if paced else None, wpm=settings.speaking_rate_wpm)


def _freeze_narration(session: Session, video_id: int) -> None:
    """Give every stored shot of the video its narration as its own text (spans would point into the new body)."""
    rows = session.execute(
        select(Shot.id, Shot.narration).join(Storyboard)
        .where(Storyboard.video_id == video_id, Shot.narration_end.is_not(None))).tuples().all()
    if rows:
        session.execute(update(Shot), [{"id": sid, "narration_text": text or "", "narration_start": None,
                                        "narration_end": None} for sid, text in rows])


def _is_note(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith("[") and stripped.endswith("]")


def _source(session: Session, file_id: int) -> SourceFile:
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} is not in the library.")
    return source


def _content(source: SourceFile, settings: Settings) -> Any:
    from core.ingest.docx_reader import read_document

    data = make_storage(settings).get(source.stored_name)
    return read_document(data, max_uncompressed_bytes=settings.max_uncompressed_bytes)


def _blocks(source: SourceFile, settings: Settings) -> list[Any]:
    return list(_content(source, settings).blocks)
