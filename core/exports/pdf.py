"""The PDF storyboard a client signs off: a cover page, then per video one page per shot with its frames.

Each shot page shows its narration (what is said) and, under a "Directions" line, its directions (what is seen);
each frame is a card (image, status, scene text, prompt, comments) in a row of three.

Mixed English and Arabic is laid out here, not left to the PDF library's paragraph code (which misplaced the
spaces between runs of the two scripts and measured lines it then drew wider):
- a paragraph reads in the direction of its first letter (the Unicode rule): aligned right when that is Arabic;
- lines are filled word by word with widths measured in the font each word is drawn in, so a line never leaves
  its card (a word longer than a line, such as a link, is cut);
- each line is put in visual order by the Unicode bidirectional algorithm, then drawn run by run, Arabic runs in
  Noto Sans Arabic shaped by HarfBuzz, the rest in Noto Sans, all at the paragraph's one size.
A card that would not fit on a page is shortened (its prompt, then its scene text, end in "…"), and shot text
longer than the page continues on the next one, so nothing is printed off the page.

Copying Arabic out of the PDF: a lam-alef ligature is one glyph for two letters. Its ToUnicode entry holds them in
reading order (what pypdf reads), but pdftotext and other extractors lay a glyph's letters out left to right and
then reverse right-to-left text, which swapped them («اإلسعافات»). Each such glyph is therefore wrapped in an
ActualText span holding its letters in the order those extractors expect (`_tag_ligatures`).

Images are embedded as JPEG at screen resolution to keep the file mailable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.bidi import BidiParagraph, auto_detect_base_direction
from fpdf.enums import TextDirection
from fpdf.fonts import TTFFont
from PIL import Image

from core.exports.data import CommentRow, FrameRow, ScriptSnapshot, ShotRow, VideoRow
from core.exports.files import writing
from core.review import APPROVED_STATUSES, STATUS_LABELS

FONTS = Path(__file__).resolve().parent.parent / "fonts"
LATIN, ARABIC = "NotoSans", "NotoArabic"
COLUMNS = 3
GAP = 6.0
PAD = 2.0  # inside a frame card, around its text
MAX_PROMPT_CHARS = 320
MAX_COMMENTS = 3
BOTTOM = 16.0  # mm kept free above the page's lower edge (the footer sits in it)
GREY = (90, 90, 90)
MIRRORED = dict(zip("()[]{}<>«»‹›", ")(][}{><»«›‹"))  # a bracket set right to left is drawn facing the other way
STATUS_COLOURS = {"draft": (120, 120, 120), "in_review": (30, 100, 200), "needs_changes": (200, 90, 20),
                  "approved": (30, 140, 60), "locked": (90, 40, 150)}


def has_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufefc"
               for ch in text)


@dataclass(frozen=True)
class Style:
    size: float  # points: every run of a paragraph is set at this one size
    bold: bool = False
    colour: tuple[int, int, int] = (0, 0, 0)
    line: float | None = None  # line height in mm; None: half the size in points, about 1.4 lines

    @property
    def leading(self) -> float:
        return self.line or self.size * 0.5


@dataclass(frozen=True)
class Run:
    """A piece of a line in one direction and one font, in reading order, with its measured width (mm)."""

    text: str
    rtl: bool
    width: float


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]  # in visual order, left to right
    logical: str  # the line's text in reading order

    @property
    def width(self) -> float:
        return sum(r.width for r in self.runs)


@dataclass(frozen=True)
class Block:
    """A paragraph broken into lines for a width: drawn later, possibly across a page break."""

    lines: tuple[Line, ...]
    style: Style
    rtl: bool  # the paragraph's direction, so its lines align right

    @property
    def height(self) -> float:
        return len(self.lines) * self.style.leading


class StoryboardPDF(FPDF):
    def __init__(self, course_title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.course_title = course_title
        self.add_font(LATIN, fname=str(FONTS / "NotoSans-Regular.ttf"))
        self.add_font(LATIN, style="B", fname=str(FONTS / "NotoSans-Bold.ttf"))
        self.add_font(ARABIC, fname=str(FONTS / "NotoSansArabic-Regular.ttf"))
        self.add_font(ARABIC, style="B", fname=str(FONTS / "NotoSansArabic-Bold.ttf"))
        self._shaping_key: tuple[bool, bool] | None = None
        self._widths: dict[tuple[str, bool, float, bool], float] = {}
        self.set_image_filter("DCTDecode")
        self.set_auto_page_break(False)
        self.set_margins(12, 12, 12)
        self.c_margin = 0  # runs are placed to the exact measured position: no padding inside their cells
        self.set_title(course_title)
        self.set_creator("Course Visual Studio")

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-10)
        self._font(arabic=False, rtl=False, style=Style(8))
        self.set_text_color(130, 130, 130)
        self.cell(0, 5, f"Page {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)

    # ---- runs: one font, one direction -------------------------------------------------------------
    def _font(self, *, arabic: bool, rtl: bool, style: Style) -> None:
        # HarfBuzz only for Arabic runs: Latin needs no shaping, and shaping dominates the time of long prompts.
        key = (arabic, rtl)
        if key != self._shaping_key:
            if arabic:
                self.set_text_shaping(True, direction="rtl" if rtl else "ltr")
            else:
                self.set_text_shaping(False)
            self._shaping_key = key
        self.set_font(ARABIC if arabic else LATIN, style="B" if style.bold else "", size=style.size)
        self.set_fallback_fonts([LATIN] if arabic else [ARABIC])

    def _arabic_run(self, text: str) -> bool:
        return any(self._needs_arabic(ch, False) for ch in text)

    def measure(self, text: str, *, rtl: bool, style: Style) -> float:
        key = (text, rtl, style.size, style.bold)
        width = self._widths.get(key)
        if width is None:
            self._font(arabic=rtl or self._arabic_run(text), rtl=rtl, style=style)
            width = float(self.get_string_width(text))
            self._widths[key] = width
        return width

    def _needs_arabic(self, ch: str, current: bool) -> bool:
        """Whether `ch` is drawn in the Arabic font: Arabic letters always, characters only it has (the Arabic
        comma), and spaces and marks both fonts have in whichever font the run already uses."""
        if has_arabic(ch):
            return True
        cp = ord(ch)
        in_latin = cp in self._cmap(LATIN)
        in_arabic = cp in self._cmap(ARABIC)
        if in_latin and in_arabic:
            return current
        return in_arabic and not in_latin

    def _cmap(self, family: str) -> dict[int, str]:
        font = self.fonts[family.lower()]
        assert isinstance(font, TTFFont)
        return font.cmap

    def _word_width(self, word: str, style: Style) -> float:
        # A word mixing scripts ("«الإسعافات", "3D") is measured piece by piece, each in its own font.
        return sum(self.measure(piece, rtl=has_arabic(piece), style=style)
                   for piece in re.findall(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufefc]+|[^\u0600-\u06ff\u0750-\u077f"
                                           r"\ufb50-\ufefc]+", word))

    # ---- paragraphs ----------------------------------------------------------------------------------
    def block(self, text: str, *, width: float, style: Style) -> Block:
        """`text` broken into lines no wider than `width`, each in visual order."""
        rtl = auto_detect_base_direction(text) == TextDirection.RTL
        lines: list[Line] = []
        for hard in text.split("\n"):
            words = hard.split()
            for logical in self._fill(words, width, style):
                lines.append(self._visual(logical, rtl=rtl, style=style, width=width))
        return Block(tuple(lines), style, rtl)

    def _fill(self, words: list[str], width: float, style: Style) -> list[str]:
        space = self.measure(" ", rtl=False, style=style)
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word in words:
            for piece in self._cut(word, width, style):
                w = self._word_width(piece, style)
                if current and used + space + w > width:
                    lines.append(" ".join(current))
                    current, used = [], 0.0
                used += (space if current else 0.0) + w
                current.append(piece)
        if current:
            lines.append(" ".join(current))
        return lines

    def _cut(self, word: str, width: float, style: Style) -> list[str]:
        """A word wider than the line (a link, a long Arabic run without spaces) in pieces that fit."""
        if self._word_width(word, style) <= width:
            return [word]
        pieces: list[str] = []
        rest = word
        while rest:
            n = len(rest)
            while n > 1 and self._word_width(rest[:n], style) > width:
                n -= 1
            pieces.append(rest[:n])
            rest = rest[n:]
        return pieces

    def _visual(self, logical: str, *, rtl: bool, style: Style, width: float) -> Line:
        base = TextDirection.RTL if rtl else TextDirection.LTR
        chars = BidiParagraph(logical, base_direction=base).get_reordered_characters()
        # Runs of one direction and one font: a run is measured and drawn in a single font, so a character the
        # other font has (an em dash in an Arabic title, an Arabic comma in English) starts a run of its own.
        groups: list[tuple[bool, bool, list[str]]] = []
        for ch in chars:
            odd = ch.embedding_level % 2 == 1
            arabic = self._needs_arabic(ch.character, groups[-1][1] if groups else odd)
            if groups and groups[-1][0] == odd and groups[-1][1] == arabic:
                groups[-1][2].append(ch.character)
            else:
                groups.append((odd, arabic, [ch.character]))
        runs = []
        for odd, arabic, visual in groups:
            if odd and arabic:
                # Shaped right to left by HarfBuzz, from reading order (it mirrors brackets itself).
                text = "".join(reversed(visual))
                runs.append(Run(text, True, self.measure(text, rtl=True, style=style)))
            else:
                # Left to right, or only punctuation and spaces set right to left ("1: " in an Arabic title):
                # drawn as it is seen, brackets mirrored.
                text = "".join(MIRRORED.get(c, c) for c in visual) if odd else "".join(visual)
                runs.append(Run(text, False, self.measure(text, rtl=False, style=style)))
        line = Line(tuple(runs), logical)
        if line.width > width + 0.01 and len(logical.split()) > 1:
            # Measured word by word it fitted, shaped as a line it does not (kerning, joining): one word less.
            head, _, tail = logical.rpartition(" ")
            raise _Overfull(head, tail)
        return line

    def draw(self, block: Block, *, x: float, width: float,
             new_page: Callable[[], None] | None = None) -> None:
        """Draw `block` from the current y; past the page's bottom, `new_page` starts another (or it is clipped
        by the caller's fitting, which makes sure it is not needed)."""
        self.set_text_color(*block.style.colour)
        for line in block.lines:
            if self.get_y() + block.style.leading > self.h - BOTTOM and new_page is not None:
                new_page()
                self.set_text_color(*block.style.colour)
            y = self.get_y()
            cx = x + (width - line.width if block.rtl else 0.0)
            for run in line.runs:
                if run.text.strip():
                    self._font(arabic=run.rtl or self._arabic_run(run.text), rtl=run.rtl, style=block.style)
                    self.set_xy(cx, y)
                    self.cell(run.width, block.style.leading, run.text)
                cx += run.width
            self.set_xy(x, y + block.style.leading)
        self.set_text_color(0, 0, 0)

    def para(self, text: str, *, width: float, style: Style, x: float | None = None,
             new_page: Callable[[], None] | None = None) -> None:
        if not text.strip():
            return
        self.draw(self.fitted(text, width=width, style=style), x=self.l_margin if x is None else x, width=width,
                  new_page=new_page)

    def fitted(self, text: str, *, width: float, style: Style) -> Block:
        """`block`, re-filled where a line shaped as a whole came out wider than its words measured."""
        pending = text
        while True:
            try:
                return self.block(pending, width=width, style=style)
            except _Overfull as over:
                # Put a line break before the word that overflowed and lay the paragraph out again.
                pending = pending.replace(f"{over.head} {over.tail}", f"{over.head}\n{over.tail}", 1)

    def save(self, path: Path) -> None:
        """Write the file, with the ligature spans that make copied Arabic read right (see the module text)."""
        ligatures = self._ligatures()
        for page in self.pages.values():
            if isinstance(page.contents, (bytes, bytearray)):
                page.contents = bytearray(_tag_ligatures(bytes(page.contents), ligatures))
        self.output(str(path))

    def _ligatures(self) -> dict[str, dict[int, str]]:
        """Per font resource name, the codes of glyphs that stand for several right-to-left letters, with those
        letters in left-to-right (visual) order, as text extractors lay a glyph's letters out."""
        out: dict[str, dict[int, str]] = {}
        for font in self.fonts.values():
            if not isinstance(font, TTFFont):
                continue
            codes = {}
            for glyph, code in font.subset.items():
                letters = glyph.unicode if glyph is not None and isinstance(glyph.unicode, tuple) else ()
                if len(letters) > 1 and all(unicodedata.bidirectional(chr(u)) in ("R", "AL") for u in letters):
                    codes[code] = "".join(chr(u) for u in reversed(letters))
            if codes:
                out[f"/F{font.i}"] = codes
        return out


class _Overfull(Exception):  # noqa: N818 - control flow inside the layout, never seen outside it
    def __init__(self, head: str, tail: str) -> None:
        super().__init__(head)
        self.head, self.tail = head, tail


_TOKENS = re.compile(rb"(/F\d+) [\d.]+ Tf|\(((?:[^\\()]|\\.)*)\) Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _unescape(literal: bytes) -> bytes:
    return re.sub(rb"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), literal, flags=re.S)


def _escape(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")


def _tag_ligatures(content: bytes, ligatures: dict[str, dict[int, str]]) -> bytes:
    """Wrap each right-to-left ligature glyph of `content` in `/Span <</ActualText …>> BDC … EMC`."""
    if not ligatures:
        return content
    font = ""
    out: list[bytes] = []
    last = 0
    for m in _TOKENS.finditer(content):
        if m.group(1) is not None:
            font = m.group(1).decode()
            continue
        codes = ligatures.get(font)
        if not codes:
            continue
        data = _unescape(m.group(2))
        glyphs = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data) - 1, 2)]
        if not any(g in codes for g in glyphs):
            continue
        parts: list[bytes] = []
        plain: list[int] = []
        for g in glyphs:
            if g in codes:
                if plain:
                    parts.append(b"(" + _escape(b"".join(c.to_bytes(2, "big") for c in plain)) + b") Tj")
                    plain = []
                actual = ("\ufeff" + codes[g]).encode("utf-16-be").hex().upper().encode()
                parts.append(b"/Span <</ActualText <" + actual + b">>> BDC (" + _escape(g.to_bytes(2, "big"))
                             + b") Tj EMC")
            else:
                plain.append(g)
        if plain:
            parts.append(b"(" + _escape(b"".join(c.to_bytes(2, "big") for c in plain)) + b") Tj")
        out.append(content[last:m.start()])
        out.append(b" ".join(parts))
        last = m.end()
    out.append(content[last:])
    return b"".join(out)


def render_storyboard_pdf(snapshot: ScriptSnapshot, out: Path,
                          progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the storyboard PDF of `snapshot` to `out` and return the path. `progress(done, total)` is called
    after each shot page (the long part of a whole script)."""
    pdf = StoryboardPDF(snapshot.title)
    _cover(pdf, snapshot)
    total = sum(max(1, len(v.shots)) for v in snapshot.videos)
    done = 0
    for video in snapshot.videos:
        if not video.shots:
            pdf.add_page()
            _video_header(pdf, video, None)
            pdf.para("This video has no storyboard yet.", width=pdf.epw, style=Style(11))
            done += 1
        for shot in video.shots:
            _shot_page(pdf, video, shot)
            done += 1
            if progress is not None:
                progress(done, total)
    with writing(out) as tmp:
        pdf.save(tmp)
    return out


def _cover(pdf: StoryboardPDF, snapshot: ScriptSnapshot) -> None:
    pdf.add_page()
    pdf.set_y(45)
    pdf.para(snapshot.title, width=pdf.epw, style=Style(28, bold=True, line=14))
    pdf.ln(4)
    pdf.para("Storyboard for sign-off", width=pdf.epw, style=Style(14, colour=GREY))
    pdf.para(f"Exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {len(snapshot.videos)} video(s)",
             width=pdf.epw, style=Style(10, colour=GREY))
    pdf.ln(8)
    for video in snapshot.videos:
        if pdf.get_y() > pdf.h - 50:
            pdf.para(f"… and {len(snapshot.videos) - snapshot.videos.index(video)} more video(s)", width=pdf.epw,
                     style=Style(9, colour=GREY))
            break
        frames = [f for s in video.shots for f in s.frames]
        approved = sum(f.status in APPROVED_STATUSES for f in frames)
        pdf.para(f"{video.number}. {video.title}", width=pdf.epw, style=Style(12, bold=True))
        pdf.para(f"{len(video.shots)} shots · {approved}/{len(frames)} frames approved", width=pdf.epw,
                 style=Style(9, colour=GREY))
        pdf.ln(1)
    pdf.set_y(pdf.h - 32)
    pdf.para("Approved by: ______________________     Date: ______________     Signature: ______________________",
             width=pdf.epw, style=Style(10))


def _video_header(pdf: StoryboardPDF, video: VideoRow, shot: ShotRow | None, *, continued: bool = False) -> None:
    pdf.set_y(12)
    pdf.para(f"{video.number}. {video.title}", width=pdf.epw, style=Style(15, bold=True, line=8))
    if shot is not None:
        label = f"Shot {shot.position} of {len(video.shots)} · {STATUS_LABELS.get(shot.status, shot.status)}"
        pdf.para(label + (" (continued)" if continued else ""), width=pdf.epw,
                 style=Style(10, colour=STATUS_COLOURS.get(shot.status, (0, 0, 0))))
    pdf.ln(1)


def _shot_page(pdf: StoryboardPDF, video: VideoRow, shot: ShotRow) -> None:
    pdf.add_page()
    _video_header(pdf, video, shot)

    def more() -> None:
        pdf.add_page()
        _video_header(pdf, video, shot, continued=True)

    if shot.narration:
        pdf.para(shot.narration, width=pdf.epw, style=Style(10, line=5.5), new_page=more)
    if shot.directions:  # what is seen, apart from what is said
        pdf.ln(1)
        pdf.para("Directions", width=pdf.epw, style=Style(8.5, bold=True, colour=GREY), new_page=more)
        for direction in shot.directions:
            pdf.para(direction, width=pdf.epw, style=Style(9, line=4.8, colour=GREY), new_page=more)
    pdf.ln(3)
    col_w = (pdf.epw - GAP * (COLUMNS - 1)) / COLUMNS
    frames = list(shot.frames)
    room = pdf.h - BOTTOM - 40  # the tallest a card can be: a page under the header
    for start in range(0, len(frames), COLUMNS):
        cards = [_card(pdf, f, col_w, room) for f in frames[start:start + COLUMNS]]
        height = max(c.height for c in cards)
        if pdf.get_y() + height > pdf.h - BOTTOM:
            more()
        top = pdf.get_y()
        for i, card in enumerate(cards):
            _draw_card(pdf, card, x=pdf.l_margin + i * (col_w + GAP), y=top, width=col_w, height=height)
        pdf.set_xy(pdf.l_margin, top + height + 4)
    if shot.comments:
        if pdf.get_y() > pdf.h - BOTTOM - 15:
            more()
        pdf.para("Shot comments", width=pdf.epw, style=Style(9, bold=True), new_page=more)
        for c in shot.comments[-MAX_COMMENTS:]:
            pdf.para(_comment_head(c), width=pdf.epw, style=Style(7.5, bold=True, colour=GREY), new_page=more)
            pdf.para(c.body, width=pdf.epw, style=Style(8.5), new_page=more)


@dataclass(frozen=True)
class Card:
    frame: FrameRow
    blocks: tuple[tuple[Block, float], ...]  # each paragraph and the space after it
    height: float  # image, text and padding, in mm


def _frame_texts(frame: FrameRow) -> list[tuple[str, Style, float]]:
    """The card's paragraphs, each with its style and the space after it. Labels stand on their own line, so a
    prompt or comment in Arabic reads right to left without an English label turning its line around."""
    prompt = frame.prompt if len(frame.prompt) <= MAX_PROMPT_CHARS else frame.prompt[:MAX_PROMPT_CHARS] + "…"
    texts = [
        (f"Frame {frame.position} · {STATUS_LABELS.get(frame.status, frame.status)}",
         Style(9, bold=True, colour=STATUS_COLOURS.get(frame.status, (0, 0, 0))), 1.0),
        (frame.scene_text, Style(10), 1.5),
        ("Prompt", Style(7, bold=True, colour=GREY), 0.3),
        (prompt or "(none yet)", Style(7.5, colour=GREY), 1.0),
    ]
    for c in frame.comments[-MAX_COMMENTS:]:
        texts += [(_comment_head(c), Style(7, bold=True, colour=(150, 70, 20)), 0.3),
                  (c.body, Style(7.5, colour=(150, 70, 20)), 1.0)]
    return [t for t in texts if t[0].strip()]


def _card(pdf: StoryboardPDF, frame: FrameRow, width: float, room: float) -> Card:
    """The frame's card laid out for `width`, shortened to fit `room` mm when it would not fit on a page."""
    inner = width - 2 * PAD
    image_h = width * 9 / 16
    texts = _frame_texts(frame)
    blocks = [(pdf.fitted(t, width=inner, style=s), after) for t, s, after in texts]
    budget = room - image_h - 2 * PAD - 2
    # Longest first: the prompt (index 3), then the scene text (index 1), lose lines until the card fits.
    for index in (3, 1):
        while sum(b.height + a for b, a in blocks) > budget and index < len(blocks) and \
                len(blocks[index][0].lines) > 1:
            block, after = blocks[index]
            blocks[index] = (_shorten(pdf, block, inner), after)
    return Card(frame, tuple(blocks), image_h + 2 + sum(b.height + a for b, a in blocks) + 2 * PAD)


def _shorten(pdf: StoryboardPDF, block: Block, width: float) -> Block:
    """`block` without its last line, the new last line ending in "…" (laid out again so it still fits)."""
    kept = block.lines[:-1]
    shortened = pdf.fitted(kept[-1].logical.rstrip(" …") + " …", width=width, style=block.style)
    return Block(kept[:-1] + shortened.lines[-1:], block.style, block.rtl)


def _draw_card(pdf: StoryboardPDF, card: Card, *, x: float, y: float, width: float, height: float) -> None:
    frame = card.frame
    image_h = width * 9 / 16
    pdf.set_draw_color(215, 215, 215)
    pdf.set_line_width(0.3)
    pdf.rect(x, y, width, height)  # the card: every word of this frame is inside it
    if frame.image_path is not None:
        with Image.open(frame.image_path) as src:
            img = src.convert("RGB")
            img.thumbnail((960, 540))
            # Fit inside the 16:9 box, centred, whatever the image's own aspect.
            scale = min(width / img.width, image_h / img.height)
            w, h = img.width * scale, img.height * scale
            pdf.image(img, x=x + (width - w) / 2, y=y + (image_h - h) / 2, w=w, h=h)
    else:
        pdf.set_fill_color(235, 235, 235)
        pdf.rect(x, y, width, image_h, style="F")
        pdf.set_xy(x, y + image_h / 2 - 3)
        pdf.draw(pdf.fitted("No image yet", width=width - 2 * PAD, style=Style(9, colour=(120, 120, 120))),
                 x=x + width / 2 - pdf.measure("No image yet", rtl=False, style=Style(9)) / 2, width=width)
    pdf.set_xy(x, y + image_h + 2 + PAD / 2)
    for block, after in card.blocks:
        pdf.draw(block, x=x + PAD, width=width - 2 * PAD)
        pdf.set_xy(x, pdf.get_y() + after)


def _comment_head(c: CommentRow) -> str:
    when = f" · {c.at:%Y-%m-%d}" if c.at else ""
    return f"{c.author}{when}"

