"""Narration longer than a voice takes in one request, cut where a speaker would pause.

OpenAI's speech endpoint takes at most 4,096 characters. A long shot's narration is cut at sentence ends (the
studio's own sentence rules, Arabic and English), a sentence longer than the limit at its last space before it,
and only a run of text with no space at all at the limit itself. Nothing is lost or reordered: the pieces, in
order, are the text with the whitespace at each cut dropped.
"""

from __future__ import annotations

from core.sentences import locate_sentences


def speech_chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at sentence ends where it can (see the module)."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    found = locate_sentences(text)
    # Cut points: each sentence's start (the text between two starts keeps its own spacing and punctuation).
    cuts = sorted({0, *(s for s in found.starts if 0 < s < len(text))})
    pieces: list[str] = []
    begin = 0
    ends = [*cuts[1:], len(text)]
    for end in ends:
        if end - begin <= limit:
            continue
        # The sentence ending at `end` does not fit with what came before: cut before it, if anything came before.
        last = max((c for c in cuts if begin < c < end and c - begin <= limit), default=None)
        if last is not None:
            pieces.append(text[begin:last].strip())
            begin = last
        while end - begin > limit:  # one sentence over the limit on its own
            window = text[begin:begin + limit + 1]
            space = window.rfind(" ", 1)
            stop = begin + (space if space > 0 else limit)
            pieces.append(text[begin:stop].strip())
            begin = stop
    pieces.append(text[begin:].strip())
    return [p for p in pieces if p]
