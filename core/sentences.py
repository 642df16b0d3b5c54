"""Sentence splitting for Arabic and Latin course scripts.

A sentence ends at a line break or at a run of `. ! ? ؟ ؛` (with any closing quotes or brackets) that is followed
by whitespace. A period does not end a sentence inside numbers ("3.5"), URLs and e-mail addresses (no space follows),
after common abbreviations ("e.g.", "Dr."), initials ("J. Smith") or a list number at the start of a line ("1. ").
An ellipsis is a pause, not an end, unless a capitalised word follows. Arabic "؟" and "؛" also end a sentence when
the next word follows without a space, a common typing habit. Splitting only cuts: the sentences, joined back,
hold every non-space character of the input, in order.
"""

from __future__ import annotations

import re

TERMINATORS = frozenset(".!?؟؛…")
# Marks that end a sentence even when a word follows without a space (they never occur in URLs or numbers).
ARABIC_TERMINATORS = frozenset("؟؛")
CLOSERS = frozenset("\"'”’»)]}›")
OPENERS = "\"'“‘«([{‹"
# Abbreviations that are (almost) never the last word of a sentence. Compared lower-case, without the final dot.
ABBREVIATIONS = frozenset(
    {
        "dr", "mr", "mrs", "ms", "prof", "st", "sr", "jr", "vs", "cf", "fig", "figs", "no", "nos", "vol",
        "pp", "approx", "dept", "est", "inc", "ltd", "co", "mt", "eq", "sec", "ch", "p", "ed", "eds", "al",
        "e.g", "i.e", "a.m", "p.m", "u.s", "u.k", "ph.d", "n.b", "viz", "jan", "feb", "mar", "apr", "jun",
        "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    }
)
_LINE_BREAKS = re.compile(r"[\r\n\v\f\u0085\u2028\u2029]+")
_DOTTED_ABBREVIATION = re.compile(r"^(?:[a-z]{1,2}\.)+[a-z]{1,2}$")
_LIST_NUMBER = re.compile(r"^[\d٠-٩۰-۹]{1,3}$")
_HAS_WORD = re.compile(r"\w")


def split_sentences(text: str) -> list[str]:
    """Split `text` into sentences, in order, each stripped of surrounding whitespace and never empty."""
    pieces: list[str] = []
    for line in _LINE_BREAKS.split(text):
        pieces.extend(_split_line(line))
    return _attach_bare_punctuation(pieces)


def _split_line(line: str) -> list[str]:
    out: list[str] = []
    start = 0
    i = 0
    n = len(line)
    while i < n:
        if line[i] not in TERMINATORS:
            i += 1
            continue
        run_start = i
        while i < n and line[i] in TERMINATORS:
            i += 1
        run = line[run_start:i]
        while i < n and line[i] in CLOSERS:
            i += 1
        if i >= n:
            break
        if _ends_sentence(line, start, run_start, run, i):
            piece = line[start:i].strip()
            if piece:
                out.append(piece)
            start = i
    tail = line[start:].strip()
    if tail:
        out.append(tail)
    return out


def _ends_sentence(line: str, start: int, run_start: int, run: str, after: int) -> bool:
    """Whether the terminator run `run` (at `run_start`, closers up to `after`) ends the current sentence."""
    nxt = line[after]
    if not nxt.isspace():
        # "؟" or "؛" glued to the next word still ends the sentence; anything else is inside a token.
        return any(ch in ARABIC_TERMINATORS for ch in run) and nxt.isalpha()
    following = line[after:].lstrip()
    if not following:
        return True
    if any(ch in "!?؟؛" for ch in run):
        return True
    if len(run) > 1 or "…" in run:
        # An ellipsis trails off inside a sentence unless a capitalised word starts a new one.
        return following[0].isupper()
    token = _token_before(line, run_start).lower()
    if token in ABBREVIATIONS or _DOTTED_ABBREVIATION.match(token):
        return False
    if token == "etc":
        return following[0].isupper()
    if len(token) == 1 and token.isalpha() and token.isascii():
        return False  # an initial: "J. Smith"
    if _LIST_NUMBER.match(token) and line[start:run_start].strip().lstrip(OPENERS) == token:
        return False  # "1. Introduction" at the start of a sentence is a list number
    return True


def _token_before(line: str, end: int) -> str:
    begin = end
    while begin > 0 and not line[begin - 1].isspace():
        begin -= 1
    return line[begin:end].lstrip(OPENERS)


def _attach_bare_punctuation(pieces: list[str]) -> list[str]:
    """A piece with no letter or digit ("…", "***") joins its neighbour instead of standing as a sentence."""
    out: list[str] = []
    pending = ""
    for piece in pieces:
        if _HAS_WORD.search(piece):
            out.append(f"{pending} {piece}" if pending else piece)
            pending = ""
        elif out:
            out[-1] = f"{out[-1]} {piece}"
        else:
            pending = f"{pending} {piece}" if pending else piece
    if pending:
        out.append(pending)
    return out
