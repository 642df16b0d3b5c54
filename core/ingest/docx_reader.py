"""Read the body of a .docx as Word shows it: paragraphs and table rows, in document order.

The document part is parsed once with lxml and walked once. That is also what python-docx does underneath
(`docx.oxml`), but its proxy objects re-run an XPath query for every paragraph and run, which makes them several
times slower on a 300-page script, and they miss text Word does show: inserted tracked changes, content
controls and text boxes. The walk below handles:

- tracked changes: inserted and moved-to text is shown, deleted and moved-from text is not, a deleted table
  row is dropped;
- content controls (`w:sdt`), custom XML and smart tags: their content is read in place;
- text boxes: read once, as paragraphs following the paragraph they are anchored in (from the first
  `mc:Choice`, never also from its `mc:Fallback` copy);
- field codes and hidden text are not shown, field results are;
- merged cells: a vertically merged cell's continuation is empty in the XML and a horizontally merged cell is
  one `w:tc`, so nothing is repeated.

Transitional and Strict OOXML are both read: they differ only in the WordprocessingML namespace.
External entities are never resolved or fetched (`resolve_entities=False`, `no_network=True`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from docx.styles import BabelFish
from lxml import etree

from core.errors import IngestError
from core.ingest.limits import MAX_SCRIPT_CHARS, too_much_text
from core.ingest.normalize import is_blank
from core.ingest.package import DocxPackage, open_package, safe_parser, xml_problem
from core.ingest.validate import check_container

TRANSITIONAL_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/wordprocessingml/main"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_MC_ALTERNATE = _MC + "AlternateContent"
_MATH_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/math",
    "http://purl.oclc.org/ooxml/officeDocument/math",
)
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_HEADING_NAME = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_OFF = ("0", "false", "off", "none")


@dataclass(frozen=True)
class Block:
    """One paragraph or table row as Word shows it. `text` is non-blank; soft line breaks are kept as "\\n".

    `heading_level` is 1-9 for a Word heading (by style name or outline level), 0 otherwise.
    """

    text: str
    kind: Literal["paragraph", "table"]
    style: str = ""
    bold: bool = False
    heading_level: int = 0
    table: int = 0  # table rows: which table of the body (1-based), so a whole table can be read as one
    cells: tuple[str, ...] = ()  # table rows: the cells, in the document's (logical) order


@dataclass(frozen=True)
class DocxContent:
    """What the reader returns: the core-properties title, the body blocks, and what could not be read."""

    title: str
    blocks: list[Block]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Style:
    name: str
    bold: bool
    heading_level: int


class _Tags:
    """Clark-notation tag names for one WordprocessingML namespace (Transitional or Strict)."""

    def __init__(self, ns: str) -> None:
        w = f"{{{ns}}}"
        self.val = w + "val"
        self.style_id = w + "styleId"
        self.type = w + "type"
        self.default = w + "default"
        self.del_ = w + "del"
        self.body = w + "body"
        self.p = w + "p"
        self.pPr = w + "pPr"
        self.pStyle = w + "pStyle"
        self.outlineLvl = w + "outlineLvl"
        self.r = w + "r"
        self.rPr = w + "rPr"
        self.rStyle = w + "rStyle"
        self.b = w + "b"
        self.bCs = w + "bCs"
        self.vanish = w + "vanish"
        self.t = w + "t"
        self.tab = w + "tab"
        self.ptab = w + "ptab"
        self.br = w + "br"
        self.cr = w + "cr"
        self.noBreakHyphen = w + "noBreakHyphen"
        self.drawing = w + "drawing"
        self.pict = w + "pict"
        self.object = w + "object"
        self.tbl = w + "tbl"
        self.tr = w + "tr"
        self.trPr = w + "trPr"
        self.tc = w + "tc"
        self.moveFrom = w + "moveFrom"
        self.sdt = w + "sdt"
        self.sdtContent = w + "sdtContent"
        self.txbxContent = w + "txbxContent"
        self.style = w + "style"
        self.name = w + "name"
        self.basedOn = w + "basedOn"
        self.altChunk = w + "altChunk"
        # Containers whose children are read in place, inline (inside a paragraph) and at block level.
        self.inline_containers = frozenset(
            w + n for n in ("hyperlink", "ins", "moveTo", "smartTag", "customXml", "fldSimple", "dir", "bdo")
        )
        self.block_containers = frozenset(w + n for n in ("customXml", "ins", "moveTo"))
        self.text_box_hosts = frozenset((w + "drawing", w + "pict", w + "object", _MC + "AlternateContent"))
        self.math = frozenset(f"{{{m}}}{n}" for m in _MATH_NS for n in ("oMath", "oMathPara"))
        self.math_text = frozenset(f"{{{m}}}t" for m in _MATH_NS)
        # What the streaming parser reports (`read_package`): the body, and what `_Walker.block` reads.
        self.streamed = (self.body, self.p, self.tbl, self.sdt, self.altChunk, _MC_ALTERNATE, *self.block_containers)


def _is_on(el: etree._Element | None, tags: _Tags) -> bool:
    return el is not None and (el.get(tags.val) or "true").lower() not in _OFF


def _outline_level(el: etree._Element, tags: _Tags) -> int | None:
    """Heading level 1-9 from a `w:outlineLvl` (0-based in the XML; 9 means body text)."""
    val = el.get(tags.val) or ""
    return int(val) + 1 if val.isdigit() and int(val) < 9 else None


_STYLE_OPEN = b"<w:style "
_STYLE_CLOSE = b"</w:style>"


def _without_table_styles(styles_xml: bytes) -> bytes:
    """The styles part without its table styles (`<w:style w:type="table" …>…</w:style>`), cut with byte
    searches: a regular expression over the part cost as much as parsing what it left."""
    pieces = styles_xml.split(_STYLE_OPEN)
    kept = [pieces[0]]
    for piece in pieces[1:]:
        head = piece[:piece.find(b">") + 1]
        close = piece.find(_STYLE_CLOSE) if b'w:type="table"' in head and not head.endswith(b"/>") else -1
        if close >= 0:
            kept.append(piece[close + len(_STYLE_CLOSE):])
        else:
            kept.append(_STYLE_OPEN + piece)
    return b"".join(kept)


def _read_styles(styles_xml: bytes | None, tags: _Tags) -> tuple[dict[str, _Style], _Style | None]:
    """Style id -> (name, bold, heading level), following `basedOn`; and the default paragraph style."""
    if not styles_xml:
        return {}, None
    # Table styles (most of Word's styles part, by size) never style a paragraph or run: left out before parsing.
    styles_xml = _without_table_styles(styles_xml)
    try:
        root = etree.fromstring(styles_xml, safe_parser())
    except etree.XMLSyntaxError:
        return {}, None  # styles only refine bold/heading hints; the text does not depend on them
    raw: dict[str, tuple[str, bool | None, int | None, str | None]] = {}
    default_id = None
    for style in root.iter(tags.style):
        sid = style.get(tags.style_id)
        if not sid:
            continue
        name_el = style.find(tags.name)
        name = name_el.get(tags.val, sid) if name_el is not None else sid
        rpr, ppr = style.find(tags.rPr), style.find(tags.pPr)
        bold = None
        if rpr is not None:
            b = rpr.find(tags.b)
            b = b if b is not None else rpr.find(tags.bCs)
            bold = _is_on(b, tags) if b is not None else None
        outline = ppr.find(tags.outlineLvl) if ppr is not None else None
        level = _outline_level(outline, tags) if outline is not None else None
        based = style.find(tags.basedOn)
        raw[sid] = (name, bold, level, based.get(tags.val) if based is not None else None)
        if style.get(tags.type) == "paragraph" and (style.get(tags.default) or "").lower() in ("1", "true", "on"):
            default_id = sid
    resolved: dict[str, _Style] = {}
    for sid, (name, bold, level, based) in raw.items():
        seen = {sid}
        while (bold is None or level is None) and based in raw and based not in seen:
            seen.add(based)
            _, b_bold, b_level, next_based = raw[based]
            bold = b_bold if bold is None else bold
            level = b_level if level is None else level
            based = next_based
        m = _HEADING_NAME.match(name)
        if m and not level:
            level = int(m.group(1))
        # Word stores built-in names in lower case ("heading 1"); show them as Word and python-docx do.
        resolved[sid] = _Style(name=BabelFish.internal2ui(name), bold=bool(bold), heading_level=level or 0)
    return resolved, resolved.get(default_id) if default_id else None


def _core_title(core_xml: bytes | None) -> str:
    if not core_xml:
        return ""
    try:
        root = etree.fromstring(core_xml, safe_parser())
    except etree.XMLSyntaxError:
        return ""
    title = root.find(_DC_TITLE)
    return " ".join((title.text or "").split()) if title is not None else ""


class _Walker:
    """One pass over the body. Each method appends to `out`; nothing is re-parsed or re-queried."""

    def __init__(self, tags: _Tags, styles: dict[str, _Style], default_style: _Style | None, *,
                 max_chars: int = MAX_SCRIPT_CHARS) -> None:
        self.t = tags
        self.styles = styles
        self.default_style = default_style or _Style(name="", bold=False, heading_level=0)
        self.tables = 0  # tables met so far (Block.table)
        self.embedded_chunks = 0  # w:altChunk: imported HTML/RTF/.docx parts, not WordprocessingML text
        self.chars = 0  # text read so far, against `max_chars`
        self.max_chars = max_chars

    # ---- block level ----------------------------------------------------------------------------
    def container(self, el: etree._Element, out: list[Block]) -> None:
        for child in el:
            self.block(child, out)

    def block(self, child: etree._Element, out: list[Block]) -> None:
        """One block-level element (a body child as it streams in, or a child of a cell, box or control)."""
        t = self.t
        tag = child.tag
        if tag == t.p:
            self.paragraph(child, out)
        elif tag == t.tbl:
            self.table(child, out)
        elif tag == t.sdt:
            content = child.find(t.sdtContent)
            if content is not None:
                self.container(content, out)
        elif tag in t.block_containers:
            self.container(child, out)
        elif tag == t.altChunk:
            self.embedded_chunks += 1
        elif tag == _MC_ALTERNATE:
            branch = self._branch(child)
            if branch is not None:
                self.container(branch, out)
        # w:del / w:moveFrom (deleted content), w:sectPr, bookmarks, …: not shown

    def paragraph(self, p: etree._Element, out: list[Block]) -> None:
        parts: list[str] = []
        boxes: list[etree._Element] = []
        # [every visible run is bold, some run has visible text, style, outline level]: filled by `inline`
        state: list[Any] = [True, False, self.default_style, 0]
        self.inline(p, parts, boxes, state)
        text = _clean("".join(parts))
        if text:
            self.chars += len(text)
            if self.chars > self.max_chars:
                raise too_much_text(self.max_chars)
            style: _Style = state[2]
            out.append(
                Block(
                    text=text,
                    kind="paragraph",
                    style=style.name,
                    bold=state[0] and state[1],
                    heading_level=state[3] or style.heading_level,
                )
            )
        for box in boxes:
            self.container(box, out)

    def _paragraph_properties(self, ppr: etree._Element, state: list[Any]) -> None:
        t = self.t
        for child in ppr:
            tag = child.tag
            if tag == t.pStyle:
                sid = child.get(t.val) or ""
                state[2] = self.styles.get(sid) or _Style(name=sid, bold=False, heading_level=0)
            elif tag == t.outlineLvl:
                state[3] = _outline_level(child, t) or 0

    def table(self, tbl: etree._Element, out: list[Block]) -> None:
        self.tables = number = self.tables + 1
        for tr in self._children(tbl, self.t.tr):
            trpr = tr.find(self.t.trPr)
            if trpr is not None and trpr.find(self.t.del_) is not None:
                continue  # a deleted row (tracked change)
            cells: list[str] = []
            all_bold = True
            for tc in self._children(tr, self.t.tc):
                inner: list[Block] = []
                self.container(tc, inner)
                if inner:
                    cells.append(" ".join(b.text.replace("\n", " ") for b in inner))
                    all_bold = all_bold and all(b.bold for b in inner)
            if cells:
                out.append(Block(text=" | ".join(cells), kind="table", style="", bold=all_bold, table=number,
                                 cells=tuple(cells)))

    def _children(self, el: etree._Element, tag: str) -> list[etree._Element]:
        """Children with `tag`, looking through content controls and custom XML wrappers (rows, cells)."""
        t = self.t
        found = []
        for child in el:
            ctag = child.tag
            if ctag == tag:
                found.append(child)
            elif ctag == t.sdt:
                content = child.find(t.sdtContent)
                if content is not None:
                    found.extend(self._children(content, tag))
            elif ctag in t.block_containers:
                found.extend(self._children(child, tag))
        return found

    # ---- inline level ---------------------------------------------------------------------------
    def inline(self, el: etree._Element, parts: list[str], boxes: list[etree._Element], state: list[Any]) -> None:
        t = self.t
        for child in el:
            tag = child.tag
            if tag == t.r:
                self.run(child, parts, boxes, state)
            elif tag == t.pPr:
                self._paragraph_properties(child, state)
            elif tag in t.inline_containers:
                self.inline(child, parts, boxes, state)
            elif tag == t.sdt:
                for content in child.iterchildren(t.sdtContent):
                    self.inline(content, parts, boxes, state)
            elif tag == _MC_ALTERNATE:
                branch = self._branch(child)
                if branch is not None:
                    self.inline(branch, parts, boxes, state)
            elif tag in t.math:
                parts.append("".join(m.text or "" for m in child.iter(*t.math_text)))
            # w:del, w:moveFrom, bookmarks, proofing marks, comment anchors: nothing shown

    def run(self, r: etree._Element, parts: list[str], boxes: list[etree._Element], state: list[Any]) -> None:
        t = self.t
        bold: bool = state[2].bold
        visible = False
        for child in r:
            tag = child.tag
            if tag == t.t:
                text = child.text or ""
                if len(child):
                    # Unresolved entity references (never expanded) are children; keep only the real text.
                    text += "".join(c.tail or "" for c in child)
                parts.append(text)
                visible = visible or (bool(text) and not text.isspace())
            elif tag == t.rPr:
                for prop in child:
                    ptag = prop.tag
                    if ptag == t.b or (ptag == t.bCs and not bold):
                        bold = _is_on(prop, t)
                    elif ptag == t.vanish and _is_on(prop, t):
                        return  # hidden text: Word does not show it
                    elif ptag == t.rStyle:
                        char_style = self.styles.get(prop.get(t.val) or "")
                        bold = bold or (char_style is not None and char_style.bold)
            elif tag == t.tab or tag == t.ptab:
                parts.append("\t")
            elif tag == t.br or tag == t.cr:
                parts.append("\n")
            elif tag == t.noBreakHyphen:
                parts.append("-")
            elif tag in t.text_box_hosts:
                boxes.extend(self._text_boxes(child))
            # w:delText, w:instrText (field codes), w:fldChar, w:sym, w:lastRenderedPageBreak: not text
        if visible:
            state[1] = True
            if not bold:
                state[0] = False

    # ---- text boxes and alternate content -------------------------------------------------------
    def _branch(self, alternate: etree._Element) -> etree._Element | None:
        """The one branch of `mc:AlternateContent` to read: the first Choice, else the Fallback."""
        choice = alternate.find(_MC + "Choice")
        return choice if choice is not None else alternate.find(_MC + "Fallback")

    def _text_boxes(self, host: etree._Element) -> list[etree._Element]:
        """Outermost `w:txbxContent` elements under a drawing / picture / alternate content (one branch)."""
        root = self._branch(host) if host.tag == _MC + "AlternateContent" else host
        if root is None:
            return []
        found = []
        for box in root.iter(self.t.txbxContent):
            parent = box.getparent()
            nested = False
            while parent is not None and parent is not root:
                if parent.tag == self.t.txbxContent:
                    nested = True
                    break
                parent = parent.getparent()
            if not nested:
                found.append(box)
        return found


def _clean(text: str) -> str:
    """Strip each line, drop blank lines (only spaces, zero-width or bidi marks)."""
    if "\n" not in text:
        return "" if is_blank(text) else text.strip()
    return "\n".join(line.strip() for line in text.split("\n") if not is_blank(line))


_SNIFF_BYTES = 16 * 1024  # the root element's start tag is in the first bytes of any real document part


def read_package(package: DocxPackage, *, max_chars: int = MAX_SCRIPT_CHARS) -> DocxContent:
    """Blocks and title from an already opened package.

    The main part is parsed as it is inflated (lxml's pull parser, fed chunk by chunk) and each child of the body
    is walked as soon as it is complete, then dropped: neither the XML nor its tree is ever held whole, so memory
    stays at about one block (plus one inflated chunk) whatever the document's size, and reading stops at the
    first cap passed.

    The parser reports only the elements the walk starts from (the body and the block-level tags, by name): an
    event for every run, property and text element cost as much as the walk itself. Body children it does not
    report (bookmarks, section properties, …) are dropped with the next reported one, and after every chunk.
    """
    chunks = package.document_chunks()
    blocks: list[Block] = []
    walker: _Walker | None = None
    try:
        first = next(chunks, b"")
        root_tag = _root_tag(first)
        if root_tag is None:
            what = "has no document element at its start" if first.strip() else "is empty"
            raise IngestError(f"The .docx file is damaged ({package.main_part} {what}). Open it in Word, save "
                              "it again, and upload the new file.", category="corrupt")
        tags = _body_tags(root_tag, package.main_part)
        styles, default_style = _read_styles(package.styles_xml, tags)
        walker = _Walker(tags, styles, default_style, max_chars=max_chars)
        parser = etree.XMLPullParser(events=("start", "end"), tag=tags.streamed, resolve_entities=False,
                                     no_network=True, load_dtd=False, remove_comments=True, remove_pis=True)
        body: etree._Element | None = None
        body_tag = tags.body
        chunk = first
        while chunk:
            parser.feed(chunk)
            for event, el in parser.read_events():
                if event == "start":
                    if body is None and el.tag == body_tag:
                        parent = el.getparent()
                        if parent is not None and parent.getparent() is None:  # the root's own body
                            body = el
                elif body is not None and el.getparent() is body:
                    walker.block(el, blocks)
                    el.clear()
                    while el.getprevious() is not None:
                        del body[0]
            if body is not None:
                del body[:-1]  # complete children were walked (or are not read); the last may be still open
            chunk = next(chunks, b"")
        parser.close()
    except etree.XMLSyntaxError as err:
        raise IngestError(
            f"The .docx file is damaged ({xml_problem(package.main_part, err)}). Open it in Word, save it again, "
            "and upload the new file.",
            category="corrupt",
        ) from err
    warnings: list[str] = []
    if walker.embedded_chunks:
        warnings.append(
            f"{walker.embedded_chunks} embedded part(s) of the document (imported HTML or another file, "
            "'altChunk') could not be read. Open the script in Word and save it again to convert them."
        )
    return DocxContent(title=_core_title(package.core_xml), blocks=blocks, warnings=warnings)


def _root_tag(first_chunk: bytes) -> str | None:
    """The tag of the part's root element, read from the start of its first chunk (None when it has none there)."""
    sniffer = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False,
                                  remove_comments=True, remove_pis=True)
    for at in range(0, len(first_chunk), _SNIFF_BYTES):
        sniffer.feed(first_chunk[at:at + _SNIFF_BYTES])
        for _, el in sniffer.read_events():
            return str(el.tag)
    return None


def _body_tags(tag: str, main_part: str) -> _Tags:
    if not tag.startswith("{") and ":" in tag:  # a prefix never declared: the parser reports it only later
        raise IngestError(f"The .docx file is damaged ({main_part} is not well-formed XML: the namespace prefix of "
                          f"{tag!r} is not declared). Open it in Word, save it again, and upload the new file.",
                          category="corrupt")
    ns = tag[1:].split("}", 1)[0] if tag.startswith("{") else None
    if ns not in (TRANSITIONAL_NS, STRICT_NS):
        raise IngestError(
            f"The main part {main_part} is not a Word document body (namespace {ns!r}). Upload the script saved "
            "from Word as a .docx.",
            category="not_docx",
        )
    return _Tags(ns)


def read_document(data: bytes, *, max_uncompressed_bytes: int) -> DocxContent:
    """Open `data` as a .docx and return its title and body blocks. Raises `IngestError` for bad input."""
    if not data:
        raise IngestError("The file is empty (0 bytes). Upload the saved .docx file again.", category="empty")
    check_container(data)
    return read_package(open_package(data, max_uncompressed_bytes=max_uncompressed_bytes))


def read_docx(data: bytes, *, max_uncompressed_bytes: int) -> list[Block]:
    """Body paragraphs and table rows of a .docx, in document order (contract of `core.ingest`)."""
    return read_document(data, max_uncompressed_bytes=max_uncompressed_bytes).blocks
