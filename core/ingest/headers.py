"""Recognise a video header line: "الفيديو الأول: مقدمة", "فيديو ٣ - الأدوات", "الفيديو رقم 12", "VIDEO TWENTY-ONE".

A header is a short line of its own that starts with the header phrase. A sentence that merely mentions a
video ("في الفيديو الأول سنتعلم …", "Video 3 is where we install Python.") is not a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.ingest.normalize import fold, fold_char, strip_blank
from core.ingest.ordinals import number_words

# Words allowed after the header phrase. Headings and bold lines are visibly headers, so they may carry a
# longer subtitle than a plain line.
MAX_TITLE_WORDS = 12
MAX_TITLE_WORDS_EMPHASIZED = 24
_MAX_NUMBER_WORDS = 4

# Bullets, quotes or a typed list number ("1- ", "٢) ") may come before the phrase.
_LEAD = r"^[^\w]*(?:\d{1,3}\s*[-.)]\s*)?"
_PREFIX = re.compile(
    _LEAD + r"(?:ال)?(?:فيديو|فديو)(?![^\W\d_])"  # الفيديو / فيديو (folded: أ/إ/آ, ڤ, tatweel already gone)
    "|" + _LEAD + r"video(?![^\W\d_])"
)
_NUMBER_TAG = re.compile(r"\s*(?:(?:رقم|number|num\.?|no\.?|nr\.?)(?![^\W\d_])|#)?\s*[:.]?\s*")
_DIGITS = re.compile(r"[(\[#]?\s*(\d{1,3})(?!\d)(?:\s*[)\]])?")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_SEPARATOR = re.compile(r"\s*(?:[:|\-/)\]]|\.(?=\s|$)|,)\s*")
_SENTENCE_END = (".", "!", "?", "؟", "…")


@dataclass(frozen=True)
class HeaderMatch:
    """A recognised header: its number, the subtitle written after it ("" if none), and the header phrase."""

    number: int
    title: str
    phrase: str


def _number_words(folded: str, start: int) -> tuple[int, int] | None:
    """(number, end offset) of the longest number phrase starting at `start`, e.g. "الحادي و العشرون"."""
    tokens: list[re.Match[str]] = []
    pos = start
    while len(tokens) < _MAX_NUMBER_WORDS:
        m = _WORD.match(folded, pos)
        if m is None:
            break
        tokens.append(m)
        pos = m.end()
        if pos < len(folded) and folded[pos] == " ":
            pos += 1
        else:
            break
    words = number_words()
    for k in range(len(tokens), 0, -1):
        phrase = " ".join(t.group() for t in tokens[:k]).replace(" و ", " و")
        if phrase in words and not phrase.endswith(" و") and tokens[k - 1].group() != "و":
            return words[phrase], tokens[k - 1].end()
    return None


def _original_index(text: str, folded: str, folded_pos: int) -> int:
    """Index in `text` of the character that became folded[folded_pos] (spaces are not counted)."""
    target = sum(1 for c in folded[:folded_pos] if c != " ")
    seen = 0
    for i, ch in enumerate(text):
        for c in fold_char(ch):
            if c.isspace():
                continue
            if seen == target:
                return i
            seen += 1
    return len(text)


def match_header(line: str, *, emphasized: bool = False) -> HeaderMatch | None:
    """The header on `line`, or None. `emphasized`: the line is a Word heading or bold (allows a longer title)."""
    limit = MAX_TITLE_WORDS_EMPHASIZED if emphasized else MAX_TITLE_WORDS
    most = limit + _MAX_NUMBER_WORDS + 2
    # Split at most `most` times: a paragraph of prose is refused after its first few words, not all of them.
    if len(line) > 40 * most or len(line.split(None, most)) > most:
        return None
    folded = fold(line)
    prefix = _PREFIX.match(folded)
    if prefix is None:
        return None
    pos = _NUMBER_TAG.match(folded, prefix.end()).end()  # type: ignore[union-attr]  # always matches
    digits = _DIGITS.match(folded, pos)
    if digits is not None:
        number, end = int(digits.group(1)), digits.end()
    else:
        found = _number_words(folded, pos)
        if found is None:
            return None
        number, end = found
    if number < 1:
        return None
    sep = _SEPARATOR.match(folded, end)
    if sep is not None:
        title_start = sep.end()
    elif end == len(folded) or folded[end] == " ":
        title_start = end
    else:
        return None  # "الفيديو 1x": the number runs into other text
    rest = folded[title_start:].strip()
    n_words = len(rest.split())
    if n_words > limit:
        return None
    if sep is None and not emphasized and n_words > 3 and rest.endswith(_SENTENCE_END):
        return None  # "Video 3 is where we install Python." is a sentence, not a header
    title = line[_original_index(line, folded, title_start) :].strip() if rest else ""
    phrase = line[: _original_index(line, folded, end)].strip() if end < len(folded) else line.strip()
    return HeaderMatch(number=number, title=strip_blank(title), phrase=strip_blank(phrase))
