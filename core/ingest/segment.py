"""Cut a script's blocks into a preface and one segment per video header.

Every non-blank line lands in exactly one place: the preface, a header line, or a video body. Videos keep
document order whatever numbers their headers carry; odd numbering is reported as a warning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from itertools import pairwise
from typing import Any

from core.errors import IngestError
from core.ingest.directions import TableLayout, classify_line, lift_notes, split_row, table_layout
from core.ingest.docx_reader import Block, read_document
from core.ingest.headers import match_header
from core.ingest.limits import DEFAULT_INGEST_CONCURRENCY, ingest_slot
from core.ingest.normalize import is_blank
from core.ingest.validate import check_upload

TITLE_MAX_CHARS = 500
_EMPHASIS_STYLES = ("title", "subtitle")


@dataclass(frozen=True)
class Direction:
    """A visual direction of a video: its text, and `at`, the offset in the video's narration body where it
    stands (the narration that follows it is what it accompanies). `source`: "line" (a marked line), "note"
    (a bracketed note), "table" (the picture column of an audio/visual table)."""

    text: str
    at: int
    source: str = "line"
    table: int = 0  # the table it was read from (source "table"), numbered from 1 in document order


    def to_json(self) -> dict[str, Any]:
        """As stored in `videos.directions` (the segment command's JSON leaves `table` out, as it always has)."""
        out: dict[str, Any] = {"text": self.text, "at": self.at, "source": self.source}
        if self.table:
            out["table"] = self.table
        return out


def line_key(text: str) -> str:
    """The key of a line of the script in the producer's marks (`SourceFile.ingest_overrides["marks"]`): its
    text with runs of whitespace as one space, hashed (a mark follows the line, not its position)."""
    return sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class SceneMark:
    """A scene subheading inside a video: the narration from `at` on belongs to a new scene."""

    at: int
    title: str


@dataclass(frozen=True)
class VideoSegment:
    """One video: `number` as written in its header, `title` its subtitle (else the header line itself).

    `body` is the narration only (what is said); `directions` and `scenes` point into it by offset."""

    number: int
    title: str
    header_text: str
    body: str
    directions: tuple[Direction, ...] = ()
    scenes: tuple[SceneMark, ...] = ()


@dataclass(frozen=True)
class Segmentation:
    """The document cut into a preface and videos, with warnings a producer should read."""

    title: str
    preface: str
    videos: list[VideoSegment]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: {"title", "preface", "videos": [{"number", "title", "body", "directions", "scenes"}],
        "warnings"}; `body` is the narration, `directions` [{"text", "at", "source"}], `scenes` [{"at", "title"}]."""
        return {
            "title": self.title,
            "preface": self.preface,
            "videos": [
                {"number": v.number, "title": v.title, "body": v.body,
                 "directions": [{"text": d.text, "at": d.at, "source": d.source} for d in v.directions],
                 "scenes": [{"at": m.at, "title": m.title} for m in v.scenes]}
                for v in self.videos
            ],
            "warnings": list(self.warnings),
        }


def _may_hold_header(block: Block) -> bool:
    """Table-of-contents entries repeat every header; a wide table row is a shot list, not a header."""
    if block.style.lower().startswith("toc"):
        return False
    return block.kind != "table" or block.text.count(" | ") <= 1


def _lines(blocks: Iterable[Block]) -> Iterable[tuple[str, bool, bool, Block]]:
    """(line, emphasized, may be a header, block) for every non-blank line; headings, titles and bold are
    emphasized."""
    for block in blocks:
        emphasized = block.heading_level > 0 or block.bold or block.style.lower() in _EMPHASIS_STYLES
        candidate = _may_hold_header(block)
        if "\n" not in block.text:
            if not is_blank(block.text):
                yield block.text, emphasized, candidate, block
            continue
        for line in block.text.split("\n"):
            if not is_blank(line):
                yield line, emphasized, candidate, block


class _Body:
    """One video's narration, directions and scene marks, built line by line."""

    __slots__ = ("lines", "size", "directions", "scenes", "marks")

    def __init__(self, marks: Mapping[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.size = 0  # len("\n".join(self.lines))
        self.directions: list[Direction] = []
        self.scenes: list[SceneMark] = []
        self.marks = marks or {}

    def say(self, text: str) -> None:
        if "[" in text:
            marks = self.marks
            # A note the producer marked as narration stays in the line.
            rest, notes = lift_notes(text, keep=(lambda n: marks.get(line_key(n)) == "narration") if marks else None)
            if marks and rest != text and marks.get(line_key(rest)) == "direction":
                self.show(text, "line")  # marked by what the board showed of it: the line without its notes
                return
            at = self.size + 1 if self.lines else 0
            self.directions.extend(Direction(n, at, "note") for n in notes)
            text = rest
            if is_blank(text):
                return
        self.size += len(text) + (1 if self.lines else 0)
        self.lines.append(text)

    def show(self, text: str, source: str, table: int = 0) -> None:
        self.directions.append(Direction(text.strip(), self.size + 1 if self.lines else 0, source, table))

    def scene(self, title: str) -> None:
        self.scenes.append(SceneMark(self.size + 1 if self.lines else 0, title.strip()))

    def add(self, line: str, block: Block, layouts: dict[int, TableLayout], first_rows: dict[int, Block]) -> None:
        if block.table:
            layout = layouts.get(block.table)
            if layout is not None and layout.is_av:
                if layout.header_row and block is first_rows.get(block.table):
                    return  # "النص | المشهد البصري": names the columns, is neither said nor shown
                said, shown = split_row(block.cells, layout)
                for text in shown:
                    self.show(text, "table", block.table)
                if not is_blank(said):
                    self.say(said)
                return
            if self.marks.get(line_key(line)) == "direction":
                self.show(line, "line")
            else:
                self.say(line)
            return
        marked = self.marks.get(line_key(line)) if self.marks else None
        role = marked if marked in ("narration", "direction") else classify_line(
            line, heading_level=block.heading_level)
        if role == "narration":
            self.say(line)
        elif role == "direction":
            self.show(line, "line")
        else:
            self.scene(line)

    def segment(self, number: int, title: str, header: str) -> VideoSegment:
        return VideoSegment(number=number, title=title, header_text=header, body="\n".join(self.lines),
                            directions=tuple(self.directions), scenes=tuple(self.scenes))


def table_layouts(blocks: Sequence[Block], *, flipped: Iterable[int] = ()) -> tuple[dict[int, TableLayout],
                                                                                      dict[int, Block]]:
    """Each table's reading (by table number) and its first row; `flipped`: tables the producer turned round."""
    rows: dict[int, list[Block]] = {}
    for block in blocks:
        if block.table:
            rows.setdefault(block.table, []).append(block)
    flips = set(flipped)
    layouts: dict[int, TableLayout] = {}
    for number, table_rows in rows.items():
        layout = table_layout([b.cells for b in table_rows])
        if number in flips:
            width = max(len(b.cells) for b in table_rows)
            layout = layout.flipped(width) if layout.is_av else TableLayout(
                narration=(0,) if width > 1 else (), reason="flipped by the producer")
        layouts[number] = layout
    return layouts, {n: r[0] for n, r in rows.items()}


def _numbering_warnings(numbers: list[int]) -> list[str]:
    warnings = []
    repeated = sorted(n for n, c in Counter(numbers).items() if c > 1)
    if repeated:
        listed = ", ".join(str(n) for n in repeated)
        warnings.append(f"Video number(s) {listed} appear more than once; the videos are kept in document order.")
    if any(b < a for a, b in pairwise(numbers)):
        listed = ", ".join(str(n) for n in numbers)
        warnings.append(f"Video numbers are out of order ({listed}); the videos are kept in document order.")
    elif not repeated:
        expected = list(range(numbers[0], numbers[0] + len(numbers)))
        if numbers != expected:
            missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
            shown = ", ".join(str(n) for n in missing[:10]) + (" …" if len(missing) > 10 else "")
            warnings.append(f"Video number(s) {shown} are missing from the sequence; check the script.")
        elif numbers[0] != 1:
            warnings.append(f"The first video is numbered {numbers[0]}, not 1.")
    return warnings


def segment_blocks(blocks: Iterable[Block], *, title: str = "", warnings: Iterable[str] = (),
                   flipped_tables: Iterable[int] = (), marks: Mapping[str, str] | None = None) -> Segmentation:
    """Cut blocks into preface and videos; each video's lines into narration, directions and scene marks
    (`core.ingest.directions`).

    `title`: the document's own title (core properties), if any; `warnings`: the reader's, reported first;
    `flipped_tables`: numbers of tables whose columns the producer turned round; `marks`: the producer's reading
    of single lines, `line_key(line)` → "narration" | "direction" (a marked line is read so whatever it looks like).
    """
    blocks = list(blocks)
    layouts, first_rows = table_layouts(blocks, flipped=flipped_tables)
    preface: list[str] = []
    headers: list[tuple[int, str, str]] = []  # (number, title, header line)
    bodies: list[_Body] = []
    for line, emphasized, candidate, block in _lines(blocks):
        found = match_header(line, emphasized=emphasized) if candidate else None
        if found is not None:
            header_line = line.strip()
            headers.append((found.number, found.title or header_line, header_line))
            bodies.append(_Body(marks))
        elif bodies:
            bodies[-1].add(line, block, layouts, first_rows)
        else:
            preface.append(line)

    notes = list(warnings)
    if not headers:
        whole = _Body(marks)
        for line, _emphasized, _candidate, block in _lines(blocks):
            whole.add(line, block, layouts, first_rows)
        doc_title = _title(title, preface)
        notes.append(
            "No video headers were found (such as “الفيديو الأول” or “Video 1”), so the whole document is "
            "treated as one video. Mark each video with a header line and upload again to split it."
        )
        return Segmentation(
            title=doc_title,
            preface="",
            videos=[whole.segment(1, doc_title, "")],
            warnings=notes,
        )

    videos = [body.segment(n, t[:TITLE_MAX_CHARS], h) for (n, t, h), body in zip(headers, bodies, strict=True)]
    notes.extend(_numbering_warnings([v.number for v in videos]))
    for position, video in enumerate(videos, start=1):
        if not video.body:
            notes.append(f"Video {video.number} (“{video.header_text}”, position {position}) has no text.")
    return Segmentation(title=_title(title, preface), preface="\n".join(preface), videos=videos, warnings=notes)


def _title(core_title: str, preface: list[str]) -> str:
    """The core-properties title, else the first preface line, else ""."""
    chosen = core_title.strip() or (preface[0].strip() if preface else "")
    return chosen[:TITLE_MAX_CHARS]


def segment_docx(data: bytes, *, max_upload_bytes: int, max_uncompressed_bytes: int,
                 concurrency: int = DEFAULT_INGEST_CONCURRENCY) -> Segmentation:
    """Validate, read and segment an uploaded .docx. Raises `IngestError` (category in the module docs).

    At most `concurrency` documents are read at once in this process (`core.ingest.limits.ingest_slot`)."""
    check_upload(data, max_upload_bytes=max_upload_bytes)
    with ingest_slot(concurrency):
        content = read_document(data, max_uncompressed_bytes=max_uncompressed_bytes)
    if not content.blocks:
        raise IngestError(
            "The document has no text in its body (it may hold only images, or text only in page headers and "
            "footers). "
            "Paste the script's text into the document and upload again.",
            category="no_text",
        )
    return segment_blocks(content.blocks, title=content.title, warnings=content.warnings)
