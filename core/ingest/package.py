"""The .docx zip package: find the main document part and inflate it (and its styles and core properties)
under a size budget, so a zip bomb is refused before and while it inflates.

Only the three parts the reader needs are ever inflated; images and other parts stay compressed. The main part
is found the way Word finds it (the package relationship of type officeDocument), which also covers renamed
document parts and Strict OOXML, whose relationship types live under purl.oclc.org.
"""

from __future__ import annotations

import io
import posixpath
import threading
import zipfile
import zlib
from copy import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

from core.errors import IngestError
from core.ingest.limits import TYPICAL_SCRIPT_XML

_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_WORD_MAIN_TYPES = (
    "wordprocessingml.document.main+xml",
    "wordprocessingml.template.main+xml",
    "ms-word.document.macroenabled.main+xml",
    "ms-word.template.macroenabledtemplate.main+xml",
)
_CHUNK = 1 << 20

_local = threading.local()


def safe_parser() -> etree.XMLParser:
    """This thread's XML parser: never resolves entities, loads a DTD or touches the network.

    lxml parser objects must not be shared between threads (the studio and the API parse uploads
    concurrently), so each thread gets its own.
    """
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
        )
        _local.parser = parser
    return parser


@dataclass(frozen=True)
class DocxPackage:
    """The parts of a .docx the reader uses: styles and core properties inflated, the main document part as a
    stream of inflated chunks (`document_chunks()`, read once), so it is never held whole in memory."""

    main_part: str
    document_chunks: Callable[[], Iterator[bytes]]
    styles_xml: bytes | None
    core_xml: bytes | None

    @property
    def document_xml(self) -> bytes:
        """The whole main part (tests and tools; the reader streams it)."""
        return b"".join(self.document_chunks())


def xml_problem(name: str, err: etree.XMLSyntaxError) -> str:
    """Where a part's XML breaks, in words: the parser's own text ("Premature end of data in tag p") means
    nothing to a producer and is left to the traceback."""
    where = f" near line {err.lineno}" if err.lineno else ""
    return f"{name} is cut short or not valid XML{where}"


def _corrupt(detail: str) -> IngestError:
    # The one message for a damaged package: what is wrong in words and, once, what to do.
    return IngestError(
        f"The .docx file is damaged ({detail}). Open it in Word, save it again, and upload the new file.",
        category="corrupt",
    )


class _Budget:
    """Inflates zip members while counting every byte against one cap (declared sizes first, then actual)."""

    def __init__(self, zf: zipfile.ZipFile, cap: int) -> None:
        self.zf = zf
        self.remaining = cap
        self.cap = cap

    def _too_large(self, name: str, size: int) -> IngestError:
        return IngestError(
            f"The document part {name} expands to more than {self.cap / (1024 * 1024):g} MB of XML "
            f"({size} bytes or more); a course script has {TYPICAL_SCRIPT_XML}, so it was not opened. If this "
            "really is one script, split it in two (or raise MAX_UNCOMPRESSED_MB).",
            category="too_large",
        )

    def _lying(self, name: str, declared: int) -> IngestError:
        return IngestError(
            f"The document part {name} expands past the {declared} bytes its zip header declares; that is how "
            "zip bombs hide, so it was not opened. Save the script again from Word and upload the new file.",
            category="too_large",
        )

    def read(self, info: zipfile.ZipInfo) -> bytes:
        return b"".join(self.chunks(info))

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's inflated bytes, chunk by chunk, each counted against the cap as it is inflated."""
        if info.flag_bits & 0x1:
            raise IngestError(
                "The .docx package is encrypted with a zip password. Save an unprotected copy and upload that.",
                category="encrypted",
            )
        if info.file_size > self.remaining:
            raise self._too_large(info.filename, info.file_size)
        # zipfile silently stops at the declared size; reading against a raised limit lets us see a member
        # that inflates past what its header claims, and stop it as soon as it does.
        probe = copy(info)
        probe.file_size = self.remaining + 1
        total = 0
        try:
            with self.zf.open(probe) as stream:
                while True:
                    try:
                        chunk = stream.read(_CHUNK)
                    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                            ValueError) as err:
                        raise _corrupt(f"{info.filename} cannot be decompressed") from err
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > self.remaining:
                        raise self._too_large(info.filename, total)
                    if total > info.file_size:
                        raise self._lying(info.filename, info.file_size)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as err:
            raise _corrupt(f"{info.filename} cannot be decompressed") from err
        if total != info.file_size:
            raise _corrupt(f"{info.filename} is shorter than its header says")
        self.remaining -= total


def _parse_xml(data: bytes, name: str) -> etree._Element:
    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as err:
        raise _corrupt(xml_problem(name, err)) from err


def _relationships(budget: _Budget, members: dict[str, zipfile.ZipInfo], rels_name: str) -> list[tuple[str, str]]:
    """(type, target part name) pairs from a .rels part, targets resolved against the source part's folder."""
    info = members.get(rels_name.lower())
    if info is None:
        return []
    root = _parse_xml(budget.read(info), rels_name)
    source_dir = posixpath.dirname(posixpath.dirname(rels_name))
    out = []
    for rel in root.iter(f"{_REL_NS}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(source_dir, target)
        out.append((rel.get("Type") or "", posixpath.normpath(path)))
    return out


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _content_types(budget: _Budget, members: dict[str, zipfile.ZipInfo]) -> dict[str, str] | None:
    info = members.get("[content_types].xml")
    if info is None:
        return None
    root = _parse_xml(budget.read(info), "[Content_Types].xml")
    return {
        (o.get("PartName") or "").lstrip("/").lower(): (o.get("ContentType") or "").lower()
        for o in root.iter(f"{_CT_NS}Override")
    }


def _find_main_part(budget: _Budget, members: dict[str, zipfile.ZipInfo], package_rels: list[tuple[str, str]]) -> str:
    content_types = _content_types(budget, members)
    for rel_type, target in package_rels:
        if rel_type.endswith("/officeDocument"):
            main = target
            break
    else:
        word_parts = [p for p, ct in (content_types or {}).items() if ct.endswith(_WORD_MAIN_TYPES)]
        main = word_parts[0] if word_parts else "word/document.xml"
    main_type = (content_types or {}).get(main.lower(), "")
    if "spreadsheetml" in main_type or "presentationml" in main_type:
        app = "an Excel workbook" if "spreadsheetml" in main_type else "a PowerPoint presentation"
        raise IngestError(f"This file is {app}, not a Word .docx document. Upload the script saved from Word as a "
                          ".docx.", category="not_docx")
    if main.lower() not in members:
        if "mimetype" in members:
            raise IngestError(
                "This is an OpenDocument (.odt) file, not a Word .docx. Open it and save it as Word Document "
                "(.docx), then upload the new file.",
                category="not_docx",
            )
        if content_types is None:
            raise IngestError(
                "This is a zip archive but not a Word document: it has no word/document.xml part. Upload the "
                "script saved from Word as a .docx.",
                category="not_docx",
            )
        raise _corrupt(f"its main document part {main} is missing")
    return main


def open_package(data: bytes, *, max_uncompressed_bytes: int) -> DocxPackage:
    """Open the zip and inflate the main document part, its styles and the core properties under the cap."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise _corrupt("the file is cut short or its zip package is broken") from err
    except (OSError, ValueError, EOFError, NotImplementedError, UnicodeDecodeError) as err:
        raise _corrupt("its zip package cannot be read") from err
    # The zip reads from memory (no file handle to close): the main part is inflated later, as it is parsed.
    members = {info.filename.lstrip("/").lower(): info for info in zf.infolist()}
    budget = _Budget(zf, max_uncompressed_bytes)
    package_rels = _relationships(budget, members, "_rels/.rels")
    main = _find_main_part(budget, members, package_rels)
    styles_part = "word/styles.xml"
    for rel_type, target in _relationships(budget, members, _rels_name(main)):
        if rel_type.endswith("/styles"):
            styles_part = target
    core_part = "docprops/core.xml"
    for rel_type, target in package_rels:
        if rel_type.endswith("/core-properties"):
            core_part = target
    styles_info = members.get(styles_part.lower())
    core_info = members.get(core_part.lower())
    main_info = members[main.lower()]
    if main_info.flag_bits & 0x1 or main_info.file_size > budget.remaining:
        list(budget.chunks(main_info))  # refused now (encrypted, or over the cap by its header), not later
    styles_xml = budget.read(styles_info) if styles_info is not None else None
    core_xml = budget.read(core_info) if core_info is not None else None
    return DocxPackage(
        main_part=main_info.filename,
        document_chunks=lambda: budget.chunks(main_info),
        styles_xml=styles_xml,
        core_xml=core_xml,
    )
