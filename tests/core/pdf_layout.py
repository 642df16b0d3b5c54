"""Reading a PDF page's layout back: where each run of text was drawn, and the card frames around them.

A small reader of the content streams fpdf2 writes (pypdf parses the operators): glyphs are placed from the
text matrix, advanced by the font's widths, and boxed by their ink in the embedded font program, so a box is
where the glyphs really are, whatever the text says. Used by the storyboard PDF tests to fail on overlapping or escaping text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pypdf import PageObject, PdfReader
from pypdf.generic import ContentStream

Matrix = list[float]


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    size: float = 0.0
    font: str = ""
    text: str = ""
    baseline: float = 0.0

    def overlaps(self, other: Box, tolerance: float = 0.2) -> bool:
        return (min(self.x1, other.x1) - max(self.x0, other.x0) > tolerance
                and min(self.y1, other.y1) - max(self.y0, other.y0) > tolerance)

    def inside(self, other: Box, tolerance: float = 0.2) -> bool:
        return (self.x0 >= other.x0 - tolerance and self.x1 <= other.x1 + tolerance
                and self.y0 >= other.y0 - tolerance and self.y1 <= other.y1 + tolerance)


def _mul(a: Matrix, b: Matrix) -> Matrix:
    return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
            a[2] * b[1] + a[3] * b[3], a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]


def _ink(font: Any) -> dict[int, tuple[float, float, float, float]]:
    """code -> the glyph's ink box (xMin, yMin, xMax, yMax) in thousandths of the font size, from the embedded
    font program itself (the CIDToGIDMap says which glyph a code draws)."""
    import io

    from fontTools.ttLib import TTFont

    desc = font["/DescendantFonts"][0].get_object()
    tt = TTFont(io.BytesIO(desc["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()))
    upm = tt["head"].unitsPerEm
    glyf = tt["glyf"]
    order = tt.getGlyphOrder()
    mapping = desc.get("/CIDToGIDMap")
    gids: list[int] | None = None
    if mapping is not None and hasattr(mapping.get_object(), "get_data"):
        data = mapping.get_object().get_data()
        gids = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    out: dict[int, tuple[float, float, float, float]] = {}
    for code in range(len(gids) if gids is not None else len(order)):
        gid = gids[code] if gids is not None else code
        if gid >= len(order):
            continue
        glyph = glyf[order[gid]]
        if getattr(glyph, "numberOfContours", 0) == 0:
            continue  # a space: no ink
        glyph.recalcBounds(glyf)
        k = 1000 / upm
        out[code] = (glyph.xMin * k, glyph.yMin * k, glyph.xMax * k, glyph.yMax * k)
    return out


def _widths(font: Any) -> tuple[dict[int, float], float, Any]:
    desc = font["/DescendantFonts"][0].get_object()
    widths: dict[int, float] = {}
    w = list(desc.get("/W", []))
    i = 0
    while i < len(w):
        first, nxt = int(w[i]), w[i + 1]
        if isinstance(nxt, list):
            widths.update({first + k: float(v) for k, v in enumerate(nxt)})
            i += 2
        else:
            widths.update({k: float(w[i + 2]) for k in range(first, int(nxt) + 1)})
            i += 3
    return widths, float(desc.get("/DW", 1000)), font


def _unicode(font: Any) -> dict[int, str]:
    """code -> text from the font's ToUnicode CMap (bfchar and bfrange)."""
    import re

    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    out: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, flags=re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            out[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be") if dst else ""
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, flags=re.S):
        for lo, hi, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            base = int(dst, 16)
            for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(base + k)
    return out


@dataclass(frozen=True)
class Glyph:
    x0: float
    x1: float
    y: float
    text: str  # what its ToUnicode entry says, or the ActualText of the span around it


def page_layout(page: PageObject, reader: PdfReader, glyphs: list[Glyph] | None = None) -> tuple[list[Box], list[Box]]:
    """(text runs, stroked rectangles) of a page, in PDF points with the origin at the bottom left; `glyphs`, when
    given, receives every glyph drawn."""
    fonts = {name: _widths(ref.get_object()) for name, ref in page["/Resources"].get("/Font", {}).items()}
    maps = {name: _unicode(ref.get_object()) for name, ref in page["/Resources"].get("/Font", {}).items()}
    inks = {name: _ink(ref.get_object()) for name, ref in page["/Resources"].get("/Font", {}).items()}
    ctm: Matrix = [1, 0, 0, 1, 0, 0]
    stack: list[Matrix] = []
    tm: Matrix = [1, 0, 0, 1, 0, 0]
    tlm: Matrix = list(tm)
    font_name, size = "", 0.0
    runs: list[Box] = []
    rects: list[Box] = []
    pending: list[list[float]] = []
    actual: str | None = None
    span: list[Glyph] = []
    for operands, raw_op in ContentStream(page.get_contents(), reader).operations:
        op = raw_op.decode() if isinstance(raw_op, bytes) else raw_op
        if op == "q":
            stack.append(list(ctm))
        elif op == "Q":
            ctm = stack.pop()
        elif op == "cm":
            ctm = _mul([float(x) for x in operands], ctm)
        elif op == "re":
            pending.append([float(x) for x in operands])
        elif op in ("S", "s", "B", "b"):
            for x, y, w, h in pending:
                a, b = _apply(ctm, x, y), _apply(ctm, x + w, y + h)
                rects.append(Box(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])))
            pending = []
        elif op in ("f", "F", "f*", "n"):
            pending = []
        elif op == "BDC" and len(operands) > 1 and "/ActualText" in operands[1]:
            actual, span = str(operands[1]["/ActualText"]), []
        elif op == "EMC" and actual is not None:
            if glyphs is not None and span:
                glyphs.append(Glyph(span[0].x0, span[-1].x1, span[0].y, actual))
            actual = None
        elif op == "BT":
            tm, tlm = [1, 0, 0, 1, 0, 0], [1, 0, 0, 1, 0, 0]
        elif op == "Tf":
            font_name, size = str(operands[0]), float(operands[1])
        elif op == "Td":
            tlm = _mul([1, 0, 0, 1, float(operands[0]), float(operands[1])], tlm)
            tm = list(tlm)
        elif op == "Tm":
            tlm = [float(x) for x in operands]
            tm = list(tlm)
        elif op in ("Tj", "TJ"):
            widths, default, _ = fonts[font_name]
            items = operands[0] if op == "TJ" else [operands[0]]
            text = []
            ink: list[tuple[float, float, float, float]] = []
            for item in items:
                if isinstance(item, (int, float)) or type(item).__name__ in ("FloatObject", "NumberObject"):
                    tm = _mul([1, 0, 0, 1, -float(item) / 1000 * size, 0], tm)
                    continue
                data = item.original_bytes if hasattr(item, "original_bytes") else bytes(item, "latin-1")
                for i in range(0, len(data) - 1, 2):
                    code = int.from_bytes(data[i:i + 2], "big")
                    text.append(maps[font_name].get(code, ""))
                    before = _mul(tm, ctm)
                    box = inks[font_name].get(code)
                    if box is not None:  # where the glyph's ink is (its advance may be longer or shorter)
                        ink.append((before[4] + box[0] * size / 1000, before[5] + box[1] * size / 1000,
                                    before[4] + box[2] * size / 1000, before[5] + box[3] * size / 1000))
                    tm = _mul([1, 0, 0, 1, widths.get(code, default) / 1000 * size, 0], tm)
                    glyph = Glyph(before[4], _mul(tm, ctm)[4], before[5], text[-1])
                    if actual is not None:
                        span.append(glyph)
                    elif glyphs is not None:
                        glyphs.append(glyph)
            if ink and "".join(text).strip():
                runs.append(Box(min(b[0] for b in ink), min(b[1] for b in ink), max(b[2] for b in ink),
                                max(b[3] for b in ink), size, font_name, "".join(text), tm[5] if not ctm else
                                _apply(ctm, tm[4], tm[5])[1]))
    return runs, rects


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _rtl(ch: str) -> bool:
    import unicodedata

    return unicodedata.bidirectional(ch) in ("R", "AL")


def _ltr(ch: str) -> bool:
    import unicodedata

    return unicodedata.bidirectional(ch) in ("L", "EN", "AN")


def pdftotext_lines(page: PageObject, reader: PdfReader) -> list[str]:
    """The page's text as poppler's pdftotext builds it (TextOutputDev): a glyph's letters are laid out left to
    right across its width, unless an ActualText span gives them; each line is read left to right by position and
    its right-to-left stretches are reversed letter by letter (`reorderText`). That reversal is what turned a
    lam-alef ligature mapped to "لإ" into "إل"."""
    glyphs: list[Glyph] = []
    page_layout(page, reader, glyphs)
    chars: list[tuple[float, float, str]] = []
    for g in glyphs:
        n = max(1, len(g.text))
        for i, ch in enumerate(g.text):
            chars.append((round(g.y, 1), g.x0 + (g.x1 - g.x0) * i / n, ch))
    rtl_count = sum(_rtl(c) for _, _, c in chars) - sum(_ltr(c) for _, _, c in chars)
    primary_lr = rtl_count <= 0
    lines = []
    for y in sorted({c[0] for c in chars}, reverse=True):
        text = [c for _, _, c in sorted((c for c in chars if c[0] == y), key=lambda c: c[1])]
        lines.append(_reorder(text, primary_lr))
    return lines


def _reorder(text: list[str], primary_lr: bool) -> str:
    out: list[str] = []
    n = len(text)
    if primary_lr:
        i = 0
        while i < n:
            j = i
            while j < n and not _rtl(text[j]):
                j += 1
            out += text[i:j]
            i = j
            while j < n and not _ltr(text[j]):
                j += 1
            out += reversed(text[i:j])
            i = j
    else:
        i = n - 1
        while i >= 0:
            j = i
            while j >= 0 and not _ltr(text[j]):
                j -= 1
            out += [text[k] for k in range(i, j, -1)]
            i = j
            while j >= 0 and not _rtl(text[j]):
                j -= 1
            out += text[j + 1:i + 1]
            i = j
    return "".join(out)
