"""The pronunciation lexicon: written forms mapped to how the voice should say them, applied before synthesis.

A course's narration mixes Arabic with English terms ("Excel" → "إكسل"), abbreviations and words a voice gets
wrong (a diacritised spelling fixes those). Entries match whole words only (so "AI" does not rewrite "MAIL"),
Latin letters case-insensitively, the longest entry first (so "Power BI" wins over "BI").
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.errors import ValidationError

MAX_ENTRIES = 500
MAX_WRITTEN_CHARS = 100
MAX_SPOKEN_CHARS = 200


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
    """`text` with every whole-word occurrence of a written form replaced by its spoken form (one pass, so a
    spoken form is never rewritten again by another entry)."""
    if not lexicon or not text:
        return text
    spoken = {k.casefold(): v for k, v in lexicon.items()}
    alternatives = "|".join(re.escape(k) for k in sorted(lexicon, key=len, reverse=True))
    # \w is Unicode-aware: Arabic letters are word characters, so boundaries work in both scripts.
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return pattern.sub(lambda m: spoken[m.group(0).casefold()], text)


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
