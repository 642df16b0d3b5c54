"""Header recognition: the table of lines a producer writes, and the sentences that must not start a video."""

from __future__ import annotations

import pytest

from core.ingest import fold, match_header
from core.ingest.ordinals import arabic_ordinals

POSITIVE = [
    # (line, number, title)
    ("الفيديو الأول", 1, ""),
    ("الفيديو الأول: مقدمة في البرمجة", 1, "مقدمة في البرمجة"),
    ("الفيديو الأولى - البداية", 1, "البداية"),
    ("الفيـــديو الثانى – الأدوات", 2, "الأدوات"),
    ("الفِيدْيُو الثَّالِثُ", 3, ""),
    ("الفيديو الرابع", 4, ""),
    ("الفيديو العاشر: الخلاصة", 10, "الخلاصة"),
    ("الفيديو الحادي عشر", 11, ""),
    ("الفيديو الحادى عشر", 11, ""),
    ("الفيديو الحادية عشرة", 11, ""),
    ("الفيديو الثاني عشر: المصفوفات", 12, "المصفوفات"),
    ("الفيديو التاسع عشر", 19, ""),
    ("الفيديو العشرون", 20, ""),
    ("الفيديو العشرين", 20, ""),
    ("الفيديو الحادي والعشرون", 21, ""),
    ("الفيديو الحادى و العشرون: الحلقات", 21, "الحلقات"),
    ("الفيديو الواحد والعشرون", 21, ""),
    ("الفيديو الثاني والثلاثون", 32, ""),
    ("الفيديو التاسع والأربعون", 49, ""),
    ("الفيديو الخمسون", 50, ""),
    ("فيديو ٣", 3, ""),
    ("فيديو ۴: عنوان", 4, "عنوان"),
    ("فيديو 7 - المتغيرات", 7, "المتغيرات"),
    ("الفيديو 5 الأدوات الأساسية", 5, "الأدوات الأساسية"),
    ("الفيديو رقم 12", 12, ""),
    ("الفيديو رقم ١٢ – العنوان", 12, "العنوان"),
    ("الفيديو (7)", 7, ""),
    ("ألفيديو الاول", 1, ""),
    ("فيديو اول", 1, ""),
    ("ڤيديو 2", 2, ""),
    ("\u200fالفيديو\u00a0الأول\u200f", 1, ""),
    ("الفيديو\u200b الثاني", 2, ""),
    ("\u202bالفيديو الثالث: عنوان\u202c", 3, "عنوان"),
    ("• الفيديو العاشر", 10, ""),
    ("1- الفيديو الأول", 1, ""),
    ("٢) الفيديو الثاني: الأدوات", 2, "الأدوات"),
    ("Video 1", 1, ""),
    ("video 2: Setup", 2, "Setup"),
    ("VIDEO 3 - Tools", 3, "Tools"),
    ("Video One — Intro", 1, "Intro"),
    ("Video Twenty-One: Loops", 21, "Loops"),
    ("video twenty one", 21, ""),
    ("Video Fifty", 50, ""),
    ("Video #4: Setup", 4, "Setup"),
    ("Video No. 9", 9, ""),
    ("Video number 5", 5, ""),
    ("Video Number Twelve: Arrays", 12, "Arrays"),
    ("Video 10. Wrap-up", 10, "Wrap-up"),
    ("Video 1 | Intro", 1, "Intro"),
]

NEGATIVE = [
    "في الفيديو الأول سنتعلم كيف نكتب أول برنامج",
    "سنرى في الفيديو الثاني كيف نستخدم الحلقات",
    "الفيديوهات الأولى قصيرة",
    "الفيديو التالي",
    "الفيديو",
    "فيديوهات الدورة",
    "مقدمة الدورة",
    "Video games are fun",
    "Video nothing to see",
    "Video 3 is where we install Python and set up the editor.",
    "Video 2020 highlights",
    "In video 1 we set things up",
    "Videos: 1",
    "الفيديو 1x",
    "12 فيديو في الدورة",
    "الفيديو الأول: " + " ".join(["كلمة"] * 30),
    "",
]


@pytest.mark.parametrize(("line", "number", "title"), POSITIVE)
def test_header_lines_are_recognised_with_number_and_title(line: str, number: int, title: str) -> None:
    found = match_header(line)
    assert found is not None, line
    assert (found.number, found.title) == (number, title)


@pytest.mark.parametrize("line", NEGATIVE)
def test_sentences_and_other_lines_are_not_headers(line: str) -> None:
    assert match_header(line) is None


def test_title_keeps_what_the_author_wrote() -> None:
    found = match_header("الفيديو الأوَّل: مُقدِّمة في البرمجة")
    assert found is not None
    assert found.title == "مُقدِّمة في البرمجة"
    assert found.phrase == "الفيديو الأوَّل"


def test_a_long_subtitle_is_accepted_only_on_an_emphasized_line() -> None:
    line = "الفيديو الثالث: " + " ".join(["كلمة"] * 16)
    assert match_header(line) is None
    found = match_header(line, emphasized=True)
    assert found is not None and found.number == 3


def test_a_sentence_ending_in_a_full_stop_is_a_header_only_when_emphasized() -> None:
    line = "Video 4 covers the loops in detail."
    assert match_header(line) is None
    assert match_header(line, emphasized=True) is not None


@pytest.mark.parametrize("n", range(1, 51))
def test_every_arabic_ordinal_up_to_fifty_is_generated(n: int) -> None:
    assert n in set(arabic_ordinals().values())


def test_feminine_and_unarticled_forms_fold_to_the_same_number() -> None:
    table = arabic_ordinals()
    assert table[fold("الثانية والعشرون")] == 22
    assert table[fold("ثاني عشر")] == 12
    assert table[fold("الأولى")] == 1


def test_fold_removes_tatweel_diacritics_marks_and_unifies_letters() -> None:
    assert fold("الفيـــديو") == "الفيديو"
    assert fold("الأَوَّلُ") == "الاول"
    assert fold("إسلام آمن") == "اسلام امن"
    assert fold("الثانى") == "الثاني"
    assert fold("الثالثة") == "الثالثه"
    assert fold("١٢ ۳") == "12 3"
    assert fold("a\u00a0\u200e b\u200b") == "a b"
    assert fold("\u2067VIDEO\u2069") == "video"
