"""Text normalisation for matching Arabic and English video headers.

Scripts are typed by hand in Word, so the same header shows up with tatweel (الفيـــديو), harakat (الفِيدْيُو),
hamza forms of alef (الأول / الاول), dotless yaa (الثانى), taa marbuta (الثانية / الثانيه), Arabic-Indic or
Persian digits, non-breaking and zero-width spaces, and bidi control marks that Word inserts around mixed
Arabic/Latin text. `fold` maps all of these to one canonical lower-case form. It is only used for matching: the
text that is stored keeps what the author wrote.
"""

from __future__ import annotations

import re

TATWEEL = "\u0640"

# Harakat, Quranic annotation marks and superscript alef: invisible to the reader's eye for matching purposes.
_DIACRITICS = [chr(c) for c in range(0x064B, 0x0660)] + ["\u0670"] + [chr(c) for c in range(0x06D6, 0x06EE)]

# Zero-width and bidi formatting characters: they change rendering, never meaning.
INVISIBLES = (
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width space / non-joiner / joiner, word joiner, BOM
    "\u200e\u200f\u061c"  # LRM, RLM, Arabic letter mark
    "\u202a\u202b\u202c\u202d\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066\u2067\u2068\u2069"  # LRI, RLI, FSI, PDI
    "\u00ad"  # soft hyphen
)

# Spaces other than U+0020 that Word and web copy-paste produce.
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t"

_LETTERS = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ٲ": "ا",
    "ٳ": "ا",
    "ى": "ي",
    "ی": "ي",
    "ئ": "ي",
    "ة": "ه",
    "ۀ": "ه",
    "ہ": "ه",
    "ھ": "ه",
    "ؤ": "و",
    "ک": "ك",
    "ڤ": "ف",  # "ڤيديو": veh is often used for the Latin v
    "ڥ": "ف",
    "–": "-",
    "—": "-",
    "‒": "-",
    "−": "-",
    "‐": "-",
    "‑": "-",
    "：": ":",
    "﹕": ":",
    "٫": ".",
    "٬": ",",
    "،": ",",
}

_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}

_FOLD_TABLE: dict[int, str | None] = {}
_FOLD_TABLE.update({ord(c): None for c in TATWEEL + INVISIBLES})
_FOLD_TABLE.update({ord(c): None for c in _DIACRITICS})
_FOLD_TABLE.update({ord(c): " " for c in _SPACES})
_FOLD_TABLE.update({ord(k): v for k, v in _LETTERS.items()})
_FOLD_TABLE.update({ord(k): v for k, v in _DIGITS.items()})

# Whitespace plus invisibles, for `str.strip`, which only looks at the ends (C speed, no table lookups).
_BLANK_CHARS = " \n\r\v\f\u0085\u2028\u2029\u180e" + _SPACES + INVISIBLES
_WS = re.compile(r"\s+")


def fold(text: str) -> str:
    """The canonical matching form of `text`: Arabic variants folded, Latin lower-cased, spaces collapsed."""
    return _WS.sub(" ", text.translate(_FOLD_TABLE)).strip().lower()


def fold_char(ch: str) -> str:
    """`fold` for one character, without whitespace collapsing (used to map positions back)."""
    out = ch.translate(_FOLD_TABLE)
    return out.lower() if len(out.lower()) == len(out) else out


def is_blank(text: str) -> bool:
    """True when `text` holds nothing a reader would see (only spaces, zero-width or bidi marks)."""
    return not text.strip(_BLANK_CHARS)


def strip_blank(text: str) -> str:
    """`text` without leading and trailing whitespace, zero-width or bidi marks."""
    return text.strip(_BLANK_CHARS)
