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
from dataclasses import dataclass
from itertools import accumulate

TERMINATORS = frozenset(".!?؟؛…")
# Marks that end a sentence even when a word follows without a space (they never occur in URLs or numbers).
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
_DOTTED_ABBREVIATION = re.compile(r"^(?:[a-z]{1,2}\.)+[a-z]{1,2}$")
_LIST_NUMBER = re.compile(r"^[\d٠-٩۰-۹]{1,3}$")
_HAS_WORD = re.compile(r"\w")
_NON_SPACE = re.compile(r"\S")
_MARK_RUN = re.compile("[" + re.escape("".join(sorted(TERMINATORS))) + "]+")
# "؟" and "؛" end a sentence even when the next word follows without a space; they never occur in URLs or numbers.
_GLUING_MARKS = frozenset("؟؛")
_STRONG_MARKS = frozenset("!?؟؛")
_ARABIC_LETTER = re.compile("[\u0621-\u064A]")
# A plain sentence end: one mark then spaces, where the mark is a period after an Arabic letter or a strong mark.
# The careful loop below ends a sentence there in every case (no abbreviation, initial or list number it guards
# against ends in an Arabic letter), so such a line needs no per-mark Python. Mark and spaces are captured: the
# split keeps them, and the offsets are sums of the parts' lengths.
_PLAIN_END = re.compile("([.!?؟؛])(?:(?<=[\u0621-\u064A]\\.)|(?<=[!?؟؛]))(\\s+)")
_TERMINATOR_CHARS = "".join(sorted(TERMINATORS))
_CLOSER_CHARS = "".join(sorted(CLOSERS))
# Line boundaries of str.splitlines other than "\n" (\r, \v, \f, file/group/record separators, NEL, LS, PS).
_RARE_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@dataclass(frozen=True, slots=True)
class Sentences:
    """The sentences of a text and where each lies in it: `text[starts[i]:ends[i]]` is sentence i, except that a
    sentence joined from a bare mark and its neighbour ("…") reads with one space where the text had a line break."""

    texts: list[str]
    starts: list[int]
    ends: list[int]


def split_sentences(text: str) -> list[str]:
    """Split `text` into sentences, in order, each stripped of surrounding whitespace and never empty."""
    return locate_sentences(text).texts


def locate_sentences(text: str) -> Sentences:
    """`split_sentences` with the offsets of each sentence in `text`."""
    found = _split_plain_text(text)
    if found is None:
        found = Sentences([], [], [])
        offset = 0
        for line in text.splitlines(keepends=True):
            _split_line(line, offset, found)
            offset += len(line)
    return _attach_bare_punctuation(found)


def _split_plain_text(text: str) -> Sentences | None:
    """The whole text in one split when every mark in it is a plain end (a period after an Arabic letter, or a
    strong mark, then a space or a line break) or closes the text; None when some mark needs the line-by-line
    rules. Typical Arabic prose takes this path: per-line work was most of the cost of building a storyboard."""
    if any(mark in text for mark in _RARE_LINE_BREAKS):
        return None  # "\n" is the only line break handled here; the line loop knows every other one
    stripped = text.strip()
    if not stripped:
        return Sentences([], [], [])
    parts = _PLAIN_END.split(stripped)  # [text, mark, spaces, text, mark, spaces, ..., text]
    if not _only_plain_marks(stripped, parts):
        return None
    found = _sentences_of_parts(parts, len(text) - len(text.lstrip()))
    if stripped.count("\n") == "".join(parts[2::3]).count("\n"):
        return found  # every line break follows a sentence end
    # Lines without an end mark (a heading, a table row) end their sentence at the line break.
    out = Sentences([], [], [])
    for sentence, start, end in zip(found.texts, found.starts, found.ends):
        if "\n" not in sentence:
            out.texts.append(sentence)
            out.starts.append(start)
            out.ends.append(end)
            continue
        offset = start
        for line in sentence.split("\n"):
            _add_piece(line, 0, len(line), offset, out)
            offset += len(line) + 1
    return out


def _only_plain_marks(stripped: str, parts: list[str]) -> bool:
    """Whether every mark of `stripped` is a plain end the split `parts` cut at, or in the run closing it."""
    body = stripped.rstrip(_CLOSER_CHARS)
    closing_marks = len(body) - len(body.rstrip(_TERMINATOR_CHARS))
    return sum(map(stripped.count, _TERMINATOR_CHARS)) == len(parts) // 3 + closing_marks


def _sentences_of_parts(parts: list[str], offset: int) -> Sentences:
    """Sentences (text + its mark) and their offsets from a `_PLAIN_END` split of a stripped text at `offset`."""
    bounds = list(accumulate(map(len, parts), initial=offset))
    texts = list(map(str.__add__, parts[0:-1:3], parts[1::3]))
    texts.append(parts[-1])
    ends = bounds[2::3]
    ends.append(bounds[-1])
    return Sentences(texts, bounds[0::3], ends)


def _split_line(line: str, offset: int, out: Sentences) -> None:
    """Append the sentences of one line (at `offset` in the text) to `out`."""
    stripped = line.strip()
    if not stripped:
        return
    offset += len(line) - len(line.lstrip())
    # Fast path: when every mark on the line is a plain end or in the run that closes the line, one C-level split
    # gives what the careful loop would. Most lines of prose are like that; the rest take the careful loop.
    parts = _PLAIN_END.split(stripped)
    if _only_plain_marks(stripped, parts):
        found = _sentences_of_parts(parts, offset)
        out.texts.extend(found.texts)
        out.starts.extend(found.starts)
        out.ends.extend(found.ends)
        return
    _split_line_carefully(stripped, offset, out)


def _split_line_carefully(line: str, offset: int, out: Sentences) -> None:
    """The reference rules, mark run by mark run, for a stripped line."""
    start = 0
    n = len(line)
    # A plain character class: the regex engine scans for it fast; the few candidates are checked in Python.
    for match in _MARK_RUN.finditer(line):
        after = match.end()
        while after < n and line[after] in CLOSERS:
            after += 1
        if after >= n:
            break
        run = match.group()
        if line[after].isspace():
            run_start = match.start()
            # The plain ends of `_PLAIN_END` (a period after an Arabic letter, a strong mark) end the sentence
            # without the checks of `_ends_sentence`, which would say so too.
            if not ((run == "." and run_start >= 1 and _ARABIC_LETTER.match(line, run_start - 1))
                    or run in _STRONG_MARKS) and not _ends_sentence(line, start, run_start, run, after):
                continue
        elif not (line[after].isalpha() and not _GLUING_MARKS.isdisjoint(run)):
            continue  # inside a token: "3.5", "example.com", "?q=1"
        _add_piece(line, start, after, offset, out)
        start = after
    _add_piece(line, start, n, offset, out)


def _add_piece(line: str, start: int, end: int, offset: int, out: Sentences) -> None:
    piece = line[start:end]
    text = piece.strip()
    if text:
        begin = offset + start + len(piece) - len(piece.lstrip())
        out.texts.append(text)
        out.starts.append(begin)
        out.ends.append(begin + len(text))


def _ends_sentence(line: str, start: int, run_start: int, run: str, after: int) -> bool:
    """Whether the terminator run `run` (at `run_start`; closers end at `after`, whitespace follows) ends the
    current sentence."""
    if not _STRONG_MARKS.isdisjoint(run):
        return True
    following = _NON_SPACE.search(line, after)
    if following is None:
        return True
    if len(run) > 1 or "…" in run:
        # An ellipsis trails off inside a sentence unless a capitalised word starts a new one.
        return following.group().isupper()
    # A single period: look at the word it closes (a short window is enough for the words that matter).
    window = line[max(start, run_start - 24):run_start]
    if not window or window[-1].isspace():
        return True
    token = window.rsplit(None, 1)[-1]
    if len(token) > 7 and "." not in token:
        return True  # fast path: an ordinary long word (most sentence ends)
    token = token.lstrip(OPENERS).lower()
    if token in ABBREVIATIONS or _DOTTED_ABBREVIATION.match(token):
        return False
    if token == "etc":
        return following.group().isupper()
    if len(token) == 1 and token.isascii() and token.isalpha():
        return False  # an initial: "J. Smith"
    if _LIST_NUMBER.match(token) and line[start:run_start].strip().lstrip(OPENERS) == token:
        return False  # "1. Introduction" at the start of a sentence is a list number
    return True


def _attach_bare_punctuation(found: Sentences) -> Sentences:
    """A piece with no letter or digit ("…", "***") joins its neighbour instead of standing as a sentence."""
    if all(map(_HAS_WORD.search, found.texts)):
        return found
    out = Sentences([], [], [])
    pending: tuple[str, int, int] | None = None
    for text, start, end in zip(found.texts, found.starts, found.ends):
        if _HAS_WORD.search(text):
            if pending is not None:
                text, start = f"{pending[0]} {text}", pending[1]
                pending = None
            out.texts.append(text)
            out.starts.append(start)
            out.ends.append(end)
        elif out.texts:
            out.texts[-1] = f"{out.texts[-1]} {text}"
            out.ends[-1] = end
        else:
            pending = (f"{pending[0]} {text}", pending[1], end) if pending else (text, start, end)
    if pending is not None:
        out.texts.append(pending[0])
        out.starts.append(pending[1])
        out.ends.append(pending[2])
    return out


SUMMARY_WORDS = 12
_TRAILING_MARKS = " .!?؟؛…،,:;-–—"


def summarize(sentence: str, *, words: int = SUMMARY_WORDS) -> str:
    """A shot's one-line summary: the sentence without its end mark, cut to `words` words with an ellipsis."""
    parts = sentence.split()
    if len(parts) > words:
        return " ".join(parts[:words]).rstrip(_TRAILING_MARKS) + "…"
    return " ".join(parts).rstrip(_TRAILING_MARKS) or sentence.strip()
