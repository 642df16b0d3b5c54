"""Build real .docx files (and deliberately broken ones) for tests.

    make_docx([("heading", "الفيديو الأول: مقدمة"), ("para", "نص ..."), ("table", [["a", "b"]])]) -> bytes

Block kinds: "heading" (Word "Heading 1"; use ("heading", text, level) for another level), "bold" (a paragraph
whose runs are all bold), "para" (plain paragraph), "table" (rows of cell strings; "rtl_table": the same shown
right to left, cells still in logical order), "page_break".
Paragraphs containing Arabic letters are marked right-to-left, as Word does for Arabic scripts.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement

Block = tuple[Any, ...]

_ARABIC = re.compile(r"[\u0600-\u06FF]")


def _mark_rtl(paragraph: Any) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(OxmlElement("w:bidi"))


def _add_run(paragraph: Any, text: str, *, bold: bool = False) -> None:
    run = paragraph.add_run(text)
    if bold:
        run.bold = True
        # Word sets complex-script bold too when Arabic text is made bold.
        run._r.get_or_add_rPr().append(OxmlElement("w:bCs"))
    if _ARABIC.search(text):
        run._r.get_or_add_rPr().append(OxmlElement("w:rtl"))


def make_docx(blocks: Sequence[Block], *, title: str | None = None) -> bytes:
    """A .docx holding `blocks` in order; `title` sets the core-properties title."""
    doc = Document()
    if title is not None:
        doc.core_properties.title = title
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            level = block[2] if len(block) > 2 else 1
            para = doc.add_heading("", level=level)
            _add_run(para, block[1])
        elif kind in ("bold", "para"):
            para = doc.add_paragraph()
            _add_run(para, block[1], bold=kind == "bold")
        elif kind in ("table", "rtl_table"):
            rows: Sequence[Sequence[str]] = block[1]
            width = max(len(r) for r in rows)
            table = doc.add_table(rows=len(rows), cols=width)
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
                    if _ARABIC.search(text):
                        _mark_rtl(table.cell(r, c).paragraphs[0])
            if kind == "rtl_table":  # a right-to-left table: its first cell is shown on the right, as Word does
                table._tbl.tblPr.append(OxmlElement("w:bidiVisual"))
            continue
        elif kind == "page_break":
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            continue
        else:
            raise ValueError(f"unknown block kind {kind!r}")
        if _ARABIC.search(block[1]):
            _mark_rtl(para)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_parts(data: bytes) -> dict[str, bytes]:
    """Every part of a .docx, by zip name (to edit one and re-pack with `make_zip`)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def make_zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of `entries` (name -> bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    return out.getvalue()


def declare_size(zip_data: bytes, name: str, declared: int) -> bytes:
    """`zip_data` with member `name`'s uncompressed size rewritten to `declared` in both headers (a lying zip)."""
    out = bytearray(zip_data)
    encoded = name.encode("utf-8")
    local = 0
    while (local := out.find(b"PK\x03\x04", local)) != -1:
        name_len = struct.unpack_from("<H", out, local + 26)[0]
        if out[local + 30 : local + 30 + name_len] == encoded:
            struct.pack_into("<I", out, local + 22, declared)
        local += 4
    central = 0
    while (central := out.find(b"PK\x01\x02", central)) != -1:
        name_len = struct.unpack_from("<H", out, central + 28)[0]
        if out[central + 46 : central + 46 + name_len] == encoded:
            struct.pack_into("<I", out, central + 24, declared)
        central += 4
    return bytes(out)


def docx_with_body_xml(body_xml: str) -> bytes:
    """A valid .docx whose <w:body> content is replaced by `body_xml` (w:, mc:, wps:, v: prefixes declared)."""
    parts = docx_parts(make_docx([("para", "placeholder")]))
    doc_xml = parts["word/document.xml"].decode("utf-8")
    head, _, rest = doc_xml.partition("<w:body>")
    _, _, tail = rest.partition("</w:body>")
    parts["word/document.xml"] = f"{head}<w:body>{body_xml}</w:body>{tail}".encode()
    return make_zip(parts)


def w_paragraph(*runs_xml: str) -> str:
    """`<w:p>` around raw run XML; `w_run("text")` builds a plain run."""
    return "<w:p>" + "".join(runs_xml) + "</w:p>"


def w_run(text: str, *, bold: bool = False) -> str:
    rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{_xml_escape(text)}</w:t></w:r>'


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def ole_file(*, encrypted: bool) -> bytes:
    """Bytes that look like an OLE compound file: an encrypted .docx container or a legacy .doc."""
    names = ["EncryptionInfo", "EncryptedPackage"] if encrypted else ["WordDocument", "1Table"]
    directory = b"".join(n.encode("utf-16-le").ljust(64, b"\0") for n in names)
    return OLE_MAGIC + b"\0" * 504 + directory + b"\0" * 1024


def with_paragraph_xml(data: bytes, extra_paragraph_xml: str) -> bytes:
    """`data` with raw paragraph XML appended at the end of the body (before the section properties)."""
    parts = docx_parts(data)
    doc_xml = parts["word/document.xml"].decode("utf-8")
    idx = doc_xml.rfind("<w:sectPr")
    parts["word/document.xml"] = (doc_xml[:idx] + extra_paragraph_xml + doc_xml[idx:]).encode("utf-8")
    return make_zip(parts)


__all__ = [
    "OLE_MAGIC",
    "declare_size",
    "docx_parts",
    "docx_with_body_xml",
    "make_docx",
    "make_zip",
    "ole_file",
    "w_paragraph",
    "w_run",
    "with_paragraph_xml",
]
