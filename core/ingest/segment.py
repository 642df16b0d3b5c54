"""Cut a script's blocks into a preface and one segment per video header.

Every non-blank line lands in exactly one place: the preface, a header line, or a video body. Videos keep
document order whatever numbers their headers carry; odd numbering is reported as a warning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from core.errors import IngestError
from core.ingest.docx_reader import Block, read_document
from core.ingest.headers import match_header
from core.ingest.normalize import is_blank
from core.ingest.validate import check_upload

TITLE_MAX_CHARS = 500
_EMPHASIS_STYLES = ("title", "subtitle")


@dataclass(frozen=True)
class VideoSegment:
    """One video: `number` as written in its header, `title` its subtitle (else the header line itself)."""

    number: int
    title: str
    header_text: str
    body: str


@dataclass(frozen=True)
class Segmentation:
    """The document cut into a preface and videos, with warnings a producer should read."""

    title: str
    preface: str
    videos: list[VideoSegment]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: {"title", "preface", "videos": [{"number", "title", "body"}], "warnings"}."""
        return {
            "title": self.title,
            "preface": self.preface,
            "videos": [{"number": v.number, "title": v.title, "body": v.body} for v in self.videos],
            "warnings": list(self.warnings),
        }


def _may_hold_header(block: Block) -> bool:
    """Table-of-contents entries repeat every header; a wide table row is a shot list, not a header."""
    if block.style.lower().startswith("toc"):
        return False
    return block.kind != "table" or block.text.count(" | ") <= 1


def _lines(blocks: Iterable[Block]) -> Iterable[tuple[str, bool, bool]]:
    """(line, emphasized, may be a header) for every non-blank line; headings, titles and bold are emphasized."""
    for block in blocks:
        emphasized = block.heading_level > 0 or block.bold or block.style.lower() in _EMPHASIS_STYLES
        candidate = _may_hold_header(block)
        if "\n" not in block.text:
            if not is_blank(block.text):
                yield block.text, emphasized, candidate
            continue
        for line in block.text.split("\n"):
            if not is_blank(line):
                yield line, emphasized, candidate


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


def segment_blocks(blocks: Iterable[Block], *, title: str = "", warnings: Iterable[str] = ()) -> Segmentation:
    """Cut blocks into preface and videos.

    `title`: the document's own title (core properties), if any; `warnings`: the reader's, reported first.
    """
    preface: list[str] = []
    headers: list[tuple[int, str, str]] = []  # (number, title, header line)
    bodies: list[list[str]] = []
    for line, emphasized, candidate in _lines(blocks):
        found = match_header(line, emphasized=emphasized) if candidate else None
        if found is not None:
            header_line = line.strip()
            headers.append((found.number, found.title or header_line, header_line))
            bodies.append([])
        elif bodies:
            bodies[-1].append(line)
        else:
            preface.append(line)

    notes = list(warnings)
    if not headers:
        everything = "\n".join(preface)
        doc_title = _title(title, preface)
        notes.append(
            "No video headers were found (such as “الفيديو الأول” or “Video 1”), so the whole document is "
            "treated as one video. Mark each video with a header line and upload again to split it."
        )
        return Segmentation(
            title=doc_title,
            preface="",
            videos=[VideoSegment(number=1, title=doc_title, header_text="", body=everything)],
            warnings=notes,
        )

    videos = [
        VideoSegment(number=n, title=t[:TITLE_MAX_CHARS], header_text=h, body="\n".join(body))
        for (n, t, h), body in zip(headers, bodies, strict=True)
    ]
    notes.extend(_numbering_warnings([v.number for v in videos]))
    for position, video in enumerate(videos, start=1):
        if not video.body:
            notes.append(f"Video {video.number} (“{video.header_text}”, position {position}) has no text.")
    return Segmentation(title=_title(title, preface), preface="\n".join(preface), videos=videos, warnings=notes)


def _title(core_title: str, preface: list[str]) -> str:
    """The core-properties title, else the first preface line, else ""."""
    chosen = core_title.strip() or (preface[0].strip() if preface else "")
    return chosen[:TITLE_MAX_CHARS]


def segment_docx(data: bytes, *, max_upload_bytes: int, max_uncompressed_bytes: int) -> Segmentation:
    """Validate, read and segment an uploaded .docx. Raises `IngestError` (category in the module docs)."""
    check_upload(data, max_upload_bytes=max_upload_bytes)
    content = read_document(data, max_uncompressed_bytes=max_uncompressed_bytes)
    if not content.blocks:
        raise IngestError(
            "The document has no text in its body (it may hold only images, or text only in page headers and "
            "footers). "
            "Paste the script's text into the document and upload again.",
            category="no_text",
        )
    return segment_blocks(content.blocks, title=content.title, warnings=content.warnings)
