"""The pronunciation lexicon: written forms mapped to how the voice should say them, applied before synthesis.

A course's narration mixes Arabic with English terms ("Excel" → "إكسل"), abbreviations and words a voice gets
wrong (a diacritised spelling fixes those). Entries match whole words only (so "AI" does not rewrite "MAIL"),
Latin letters case-insensitively, the longest entry first (so "Power BI" wins over "BI").

Arabic words are whole words with their marks: harakat, shadda, sukun and tatweel belong to the word they sit on
(so "قسم" does not rewrite the start of "قسمَين", while "قسمَ" with its case ending is the word "قسم"). An entry
also matches after one of the one-letter proclitics و ف ب ل ك ("والبيانات" is "و" + "البيانات", "وExcel" is
"و" + "Excel"), and, when the entry has no article of its own, after a proclitic and "ال" ("وال" + "بيانات");
the proclitic is kept in front of the spoken form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from core.errors import ValidationError

MAX_ENTRIES = 500
MAX_WRITTEN_CHARS = 100
MAX_SPOKEN_CHARS = 200
# Combining marks that belong to the letter before them (Python's \w does not count them as word characters):
# Arabic harakat, shadda, sukun, dagger alef and Quranic marks, and the generic combining accents.
_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
_WORD = rf"[\w{_MARKS}]"  # tatweel (U+0640) is already \w
_PROCLITICS = "[وفبلك]"
_ARTICLE = "ال"


def validate_lexicon(lexicon: Mapping[str, str]) -> dict[str, str]:
    """The lexicon cleaned (whitespace trimmed), or a `ValidationError` naming the bad entry."""
    if not isinstance(lexicon, Mapping):
        raise ValidationError("The pronunciation lexicon must map written forms to spoken forms")
    if len(lexicon) > MAX_ENTRIES:
        raise ValidationError(f"The pronunciation lexicon has {len(lexicon)} entries; at most {MAX_ENTRIES}")
    out: dict[str, str] = {}
    for written, spoken in lexicon.items():
        if not isinstance(written, str) or not isinstance(spoken, str):
            raise ValidationError("Pronunciation lexicon entries must be text")
        w, s = " ".join(written.split()), " ".join(spoken.split())
        if not w:
            raise ValidationError("A pronunciation lexicon entry has no written form")
        if not s:
            raise ValidationError(f"The lexicon entry {w!r} has no spoken form")
        if len(w) > MAX_WRITTEN_CHARS or len(s) > MAX_SPOKEN_CHARS:
            raise ValidationError(f"The lexicon entry {w[:40]!r} is too long (at most {MAX_WRITTEN_CHARS} characters "
                                  f"written, {MAX_SPOKEN_CHARS} spoken)")
        if w.casefold() in {k.casefold() for k in out}:
            raise ValidationError(f"The lexicon has {w!r} twice")
        out[w] = s
    return out


def apply_lexicon(text: str, lexicon: Mapping[str, str]) -> str:
    """`text` with every whole-word occurrence of a written form (after an Arabic proclitic, see the module)
    replaced by its spoken form (one pass, so a spoken form is never rewritten again by another entry)."""
    if not lexicon or not text:
        return text
    pattern, spoken = _compiled(tuple(lexicon.items()))

    def spoken_form(m: re.Match[str]) -> str:
        written = m.group("whole") or m.group("with_article") or m.group("without_article")
        return (m.group("p1") or m.group("p2") or "") + spoken[written.casefold()]

    return pattern.sub(spoken_form, text)


def _takes_proclitic(written: str) -> bool:
    """Whether an entry may follow a proclitic: a Latin term always ("وExcel"), an Arabic one of three letters or
    more (a two-letter entry such as "حر" would otherwise rewrite the end of "بحر")."""
    if not re.match(r"[\u0600-\u06ff]", written):
        return True
    return len(re.sub(rf"[{_MARKS}\u0640]", "", written.split()[0])) >= 3


@lru_cache(maxsize=64)
def _compiled(entries: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """The lexicon's one pattern (built once per lexicon: a board applies it to every shot). A whole-word match
    is tried before a proclitic one, so an entry "كتاب" is never read as "ك" + "تاب"."""
    spoken = {k.casefold(): v for k, v in entries}

    def alternatives(words: list[str]) -> str:
        return "|".join(re.escape(k) for k in sorted(words, key=len, reverse=True)) or "(?!)"

    written = [k for k, _ in entries]
    after_proclitic = [k for k in written if _takes_proclitic(k)]
    with_article = [k for k in after_proclitic if k.startswith(_ARTICLE)]
    without_article = [k for k in after_proclitic if not k.startswith(_ARTICLE)]
    pattern = re.compile(
        rf"(?<!{_WORD})(?:(?P<whole>{alternatives(written)})"
        rf"|(?P<p1>{_PROCLITICS})(?P<with_article>{alternatives(with_article)})"
        rf"|(?P<p2>{_PROCLITICS}{_ARTICLE}|{_PROCLITICS})(?P<without_article>{alternatives(without_article)}))"
        rf"(?![{_MARKS}]*\w)",  # marks may follow the word (a case ending), a letter may not
        re.IGNORECASE)
    return pattern, spoken


def parse_lexicon(text: str) -> dict[str, str]:
    """The lexicon from the style bible's text box: one `written = spoken` per line; blank lines and lines
    starting with # are skipped. A line without `=` is an error naming its number."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "=" not in line:
            raise ValidationError(f"Lexicon line {n} has no '=': write it as  written = spoken")
        written, _, spoken = line.partition("=")
        if written.strip().casefold() in {k.casefold() for k in out}:
            raise ValidationError(f"Lexicon line {n}: {written.strip()!r} is already in the lexicon")
        out[written.strip()] = spoken.strip()
    return validate_lexicon(out)


def format_lexicon(lexicon: Mapping[str, str]) -> str:
    return "\n".join(f"{k} = {v}" for k, v in lexicon.items())
