from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import sentences
from core.sentences import Sentences, locate_sentences, split_sentences


def _non_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four.", ["One.", "Two!", "Three?", "Four."]),
        ("مرحبا بكم. هل أنتم مستعدون؟ نعم! لنبدأ؛ الدرس الأول.",
         ["مرحبا بكم.", "هل أنتم مستعدون؟", "نعم!", "لنبدأ؛", "الدرس الأول."]),
        ("First line\nsecond line\r\n\nthird line", ["First line", "second line", "third line"]),
        ("The value is 3.5 percent. Next.", ["The value is 3.5 percent.", "Next."]),
        ("القيمة ٣٫٥ بالمئة. التالي.", ["القيمة ٣٫٥ بالمئة.", "التالي."]),
        ("Use fruit, e.g. apples, i.e. red ones. Done.", ["Use fruit, e.g. apples, i.e. red ones.", "Done."]),
        ("Dr. Smith and Mr. Jones met. They talked.", ["Dr. Smith and Mr. Jones met.", "They talked."]),
        ("J. R. Tolkien wrote it. Yes.", ["J. R. Tolkien wrote it.", "Yes."]),
        ("See https://example.com/a.b?c=1&d=2 for more. Or mail info@example.org. Thanks.",
         ["See https://example.com/a.b?c=1&d=2 for more.", "Or mail info@example.org.", "Thanks."]),
        ("Wait... then go. Then stop… The end.", ["Wait... then go.", "Then stop…", "The end."]),
        ("ثم... نكمل الشرح. انتهى.", ["ثم... نكمل الشرح.", "انتهى."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("(Really?) Yes.", ["(Really?)", "Yes."]),
        ("1. Introduction\n2. Methods", ["1. Introduction", "2. Methods"]),
        ("Why?!  Because.", ["Why?!", "Because."]),
        ("سؤال؟جواب؛وبعد", ["سؤال؟", "جواب؛", "وبعد"]),
        ("Apples, pears etc. and plums. Next etc. Then more.",
         ["Apples, pears etc. and plums.", "Next etc.", "Then more."]),
        ("  \n\t  ", []),
        ("", []),
    ],
)
def test_split_sentences_examples(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_bare_punctuation_joins_a_neighbour_instead_of_standing_alone() -> None:
    assert split_sentences("* * *\nHello there.\n...") == ["* * * Hello there. ..."]
    assert split_sentences("...") == ["..."]


_ALPHABET = st.sampled_from(
    list("abc ABC xyz") + list("مرحبا بكم") + list(".!?؟؛…،,\"'()«»\n\t") + list("0123٠١٢٫@/:")
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=200))
def test_split_keeps_every_non_space_character_in_order(text: str) -> None:
    sentences = split_sentences(text)
    assert all(s and s == s.strip() for s in sentences)
    assert _non_space("".join(sentences)) == _non_space(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Hello world.", "كيف حالك؟", "Stop!", "الدرس ٣٫٥ مهم؛", "Is it 3.5?"]),
                max_size=12))
def test_well_formed_sentences_come_back_one_by_one(parts: list[str]) -> None:
    assert split_sentences(" ".join(parts)) == parts


def _carefully(text: str) -> Sentences:
    """The reference: every line through the mark-by-mark rules, none through the one-split fast path."""
    out = Sentences([], [], [])
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            sentences._split_line_carefully(line.strip(), offset + len(line) - len(line.lstrip()), out)
        offset += len(line)
    return sentences._attach_bare_punctuation(out)


# Prose-like pieces that reach both paths: Arabic words before marks (the fast path's case), abbreviations,
# numbers, closers and glued marks (the careful loop's cases), line breaks and odd spaces.
_PIECES = st.sampled_from(
    ["كلمة", "د", "في", "نص", "word", "Dr", "e.g", "etc", "J", "3", "3.5", "١", " ", "  ", "\n", "\t", "\xa0",
     "\u2028", ".", ".", "!", "?", "؟", "؛", "…", "...", "?!", '"', "»", ")", "«", "("]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_the_fast_path_cuts_exactly_where_the_careful_rules_do(text: str) -> None:
    assert locate_sentences(text) == _carefully(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_each_sentence_is_found_where_it_lies_in_the_text(text: str) -> None:
    found = locate_sentences(text)
    assert len(found.texts) == len(found.starts) == len(found.ends)
    assert all(a < b for a, b in zip(found.starts, found.ends))
    assert all(b <= a for b, a in zip(found.ends, found.starts[1:]))  # in order, never overlapping
    for sentence, start, end in zip(found.texts, found.starts, found.ends):
        # Verbatim, except a bare mark joined to its neighbour reads with one space ("…" on a line of its own).
        assert _non_space(text[start:end]) == _non_space(sentence)
        if "\n" not in text[start:end]:
            assert text[start:end] == sentence or " " in sentence


def test_offsets_of_an_arabic_paragraph() -> None:
    text = "  مرحبا بكم.  هل أنتم مستعدون؟\nنعم!"
    found = locate_sentences(text)
    assert [text[a:b] for a, b in zip(found.starts, found.ends)] == found.texts == [
        "مرحبا بكم.", "هل أنتم مستعدون؟", "نعم!"]


def test_a_shot_summary_is_its_first_sentence_cut_to_twelve_words_without_the_end_mark() -> None:
    long = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen."
    assert sentences.summarize(long) == "one two three four five six seven eight nine ten eleven twelve…"
    assert sentences.summarize("Short closing line.") == "Short closing line"
    assert sentences.summarize("هل أنتم مستعدون؟") == "هل أنتم مستعدون"
