"""Fonts and text drawing for the offline renderers: wrapped Latin text and shaped, right-to-left Arabic.

Arabic drawn without shaping comes out as disconnected letters in the wrong order (a complaint producers
raise first), so Arabic is only ever drawn through libraqm with the Noto Sans Arabic font shipped in
`core/fonts/`. Without raqm, Arabic is left out rather than drawn broken.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from PIL import ImageDraw, ImageFont, features

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"
_ARABIC_RE = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN_RE = re.compile(r"[A-Za-z\u00C0-\u024F]")

Color = tuple[int, int, int]


def has_arabic(text: str) -> bool:
    return bool(_ARABIC_RE.search(text))


def can_shape_arabic() -> bool:
    """True when Pillow was built with libraqm (needed to shape Arabic and lay it out right to left)."""
    return bool(features.check("raqm"))


def has_latin(text: str) -> bool:
    return bool(_LATIN_RE.search(text))


@lru_cache(maxsize=32)
def font(size: int, *, bold: bool = False, arabic: bool = False, mixed: bool = False) -> ImageFont.FreeTypeFont:
    """Noto Sans for Latin, Noto Sans Arabic for Arabic, and DejaVu Sans (which has both) for a line that
    mixes them: Pillow has no per-glyph font fallback, so one font must cover the whole line."""
    family = "DejaVuSans" if mixed else "NotoSansArabic" if arabic else "NotoSans"
    name = f"{family}-{'Bold' if bold else 'Regular'}.ttf"
    engine = ImageFont.Layout.RAQM if can_shape_arabic() else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(FONTS_DIR / name), size, layout_engine=engine)


# Latin punctuation inside Arabic, as Arabic writes it (Noto Sans Arabic has these forms, not the Latin ones).
_ARABIC_FORMS = str.maketrans({"?": "\u061f", ";": "\u061b", "%": "\u066a"})


@lru_cache(maxsize=8)
def _glyphs(name: str) -> frozenset[int]:
    """The code points a shipped font draws (its cmap): Pillow draws a missing one as an empty box."""
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(FONTS_DIR / name), lazy=True).getBestCmap())


def arabic_line(text: str) -> tuple[str, bool]:
    """An Arabic line as it is drawn: its ?, ; and % in their Arabic forms, and whether Noto Sans Arabic then has
    every glyph of it (else the line is drawn in DejaVu Sans, which has both scripts, rather than with boxes for
    its brackets, quotes or slashes)."""
    text = text.translate(_ARABIC_FORMS)
    covered = _glyphs("NotoSansArabic-Regular.ttf")
    return text, all(ord(ch) in covered for ch in text if not ch.isspace())


def wrap(draw: ImageDraw.ImageDraw, text: str, fnt: ImageFont.FreeTypeFont, width: int,
         *, direction: str | None = None) -> list[str]:
    """Greedy word wrap to `width` pixels; words longer than a line are cut."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            trial = f"{current} {word}".strip()
            if draw.textlength(trial, font=fnt, direction=direction) <= width:
                current = trial
                continue
            if current:
                lines.append(current)
            while draw.textlength(word, font=fnt, direction=direction) > width and len(word) > 1:
                cut = max(1, int(len(word) * width / draw.textlength(word, font=fnt, direction=direction)))
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return [ln for ln in lines if ln.strip()] or [""]


def draw_block(draw: ImageDraw.ImageDraw, text: str, box: tuple[int, int, int, int], *, size: int,
               fill: Color, bold: bool = False, max_lines: int | None = None) -> int:
    """Draw `text` wrapped inside `box` (left, top, right, bottom); returns the y after the last line.

    Arabic text is shaped, right-aligned and laid out right to left; anything else is left-aligned.
    """
    left, top, right, bottom = box
    arabic = has_arabic(text)
    if arabic and not can_shape_arabic():
        return top
    mixed = arabic and has_latin(text)
    if mixed:  # an English prompt quoting Arabic: left to right overall; raqm's bidi orders the Arabic run
        arabic = len(_ARABIC_RE.findall(text)) > len(_LATIN_RE.findall(text))
    elif arabic:
        text, covered = arabic_line(text)
        mixed = not covered  # DejaVu Sans draws the brackets and quotes Noto Sans Arabic lacks
    fnt = font(size, bold=bold, arabic=arabic, mixed=mixed)
    direction = "rtl" if arabic else "ltr" if mixed else None
    lines = wrap(draw, text, fnt, right - left, direction=direction)
    line_h = int(size * (1.65 if arabic else 1.35))
    limit = max_lines if max_lines is not None else max(1, (bottom - top) // line_h)
    if len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1].rstrip(" .,،") + "…"
    y = top
    for line in lines:
        if arabic:
            x = right - draw.textlength(line, font=fnt, direction="rtl")
            draw.text((x, y), line, font=fnt, fill=fill, direction="rtl", language="ar")
        else:
            draw.text((left, y), line, font=fnt, fill=fill, direction=direction)
        y += line_h
    return y
