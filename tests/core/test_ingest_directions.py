"""Narration vs visual directions vs scene marks: the rules of core/ingest/directions.py, and a script built
with them read end to end (inline notes in both languages, AV tables with and without header rows, RTL tables,
scene subheadings)."""

from __future__ import annotations

import pytest

from core.ingest import segment_docx
from core.ingest.directions import classify_line, lift_notes, table_layout
from tests.core.docx_factory import make_docx


@pytest.mark.parametrize("line", [
    "المشهد: المدرب يقف أمام الكاميرا", "المشهد الختامي: شعار الدورة", "لقطة قريبة: يدا المدرب على لوحة المفاتيح",
    "على الشاشة: عنوان الدرس", "ملاحظة للمونتاج: أضف موسيقى هادئة", "ملاحظة للمخرج: إضاءة دافئة",
    "مؤثر صوتي: جرس", "موسيقى: هادئة", "Scene: the trainer stands at the desk", "Shot - wide of the lab",
    "Visual: screen recording", "On screen: the title", "B-roll: students walking", "SFX: a bell", "Music: soft",
    "[Visual: screen recording, zoom on the terminal]",
])
def test_direction_lines(line: str) -> None:
    assert classify_line(line) == "direction"


@pytest.mark.parametrize("line", [
    "مرحبا بكم في هذه الدورة.", "في هذا المشهد من حياتنا نتعلم الصبر.", "Music is something we all enjoy.",
    "The scene was set for a great discovery.", "Welcome to the course!", "Shot by shot, we build the program.",
])
def test_narration_lines(line: str) -> None:
    assert classify_line(line) == "narration"


@pytest.mark.parametrize("line", ["المشهد 3", "المشهد الثالث", "Scene 2", "Scene 2: The lab", "مشهد ٤"])
def test_scene_marks(line: str) -> None:
    assert classify_line(line) == "scene"


def test_a_deep_heading_inside_a_video_is_a_scene() -> None:
    assert classify_line("في المختبر", heading_level=3) == "scene"
    assert classify_line("في المختبر", heading_level=0) == "narration"


def test_bracketed_notes_are_lifted_out_of_narration() -> None:
    assert lift_notes("We start here. [Visual: terminal] Then we go on.") == (
        "We start here. Then we go on.", ["Visual: terminal"])
    assert lift_notes("no notes") == ("no notes", [])


def test_tables_by_header_row_either_language_and_without_header() -> None:
    assert table_layout([["Narration", "Visual"], ["a b", "c"]]).narration == (0,)
    assert table_layout([["المشهد البصري", "النص"], ["x", "y z"]]).narration == (1,)
    headerless = [["المدرب أمام السبورة", "مرحبا بكم في الدرس الثالث، سنتحدث عن المتغيرات وأنواعها."],
                  ["رسم توضيحي", "المتغير هو اسم نعطيه لقيمة في الذاكرة ونستخدمه لاحقا."]]
    assert table_layout(headerless).narration == (1,)
    assert not table_layout([["only one column"]]).is_av
    assert not table_layout([["Feature", "Plan"], ["Speed", "Fast"]]).is_av  # no column reads as sentences


def test_flipping_a_table_swaps_what_is_said_and_shown() -> None:
    layout = table_layout([["Narration", "Visual"], ["a b", "c"]])
    assert layout.flipped(2).narration == (1,)


def _segment(blocks: list) -> object:
    return segment_docx(make_docx(blocks), max_upload_bytes=10**8, max_uncompressed_bytes=10**9)


def test_a_script_keeps_directions_out_of_the_narration() -> None:
    result = _segment([
        ("heading", "الفيديو الأول: مقدمة"), ("para", "مرحبا بكم في هذه الدورة."),
        ("para", "المشهد: المدرب يقف أمام الكاميرا"), ("para", "لقطة قريبة: يدا المدرب"),
        ("para", "سنتعلم اليوم أساسيات البرمجة. [Visual: screen recording]"),
        ("heading", "المشهد 2", 3), ("para", "ملاحظة للمونتاج: أضف موسيقى هادئة"),
        ("para", "هذا هو المشهد الثاني من الدرس."),
        ("heading", "Video 2: Tables"),
        ("table", [["Narration", "Visual"], ["Welcome to the lab, today we look at tools.", "Wide shot of the lab"],
                   ["Now open the terminal and type the command.", "Close-up of screen"]]),
        ("heading", "الفيديو الثالث"),
        ("table", [["المدرب أمام السبورة", "مرحبا بكم في الدرس الثالث، سنتحدث عن المتغيرات وأنواعها."],
                   ["رسم توضيحي لصندوق", "المتغير هو اسم نعطيه لقيمة في الذاكرة."]]),
    ])
    one, two, three = result.videos  # type: ignore[attr-defined]
    assert one.body == "مرحبا بكم في هذه الدورة.\nسنتعلم اليوم أساسيات البرمجة.\nهذا هو المشهد الثاني من الدرس."
    assert [d.text for d in one.directions] == [
        "المشهد: المدرب يقف أمام الكاميرا", "لقطة قريبة: يدا المدرب", "Visual: screen recording",
        "ملاحظة للمونتاج: أضف موسيقى هادئة"]
    assert [(m.at, m.title) for m in one.scenes] == [(one.body.index("هذا"), "المشهد 2")]
    assert two.body == "Welcome to the lab, today we look at tools.\nNow open the terminal and type the command."
    assert [d.text for d in two.directions] == ["Wide shot of the lab", "Close-up of screen"]
    assert "|" not in three.body and "السبورة" not in three.body
    assert [d.text for d in three.directions] == ["المدرب أمام السبورة", "رسم توضيحي لصندوق"]
    video = result.to_json()["videos"][1]  # type: ignore[attr-defined]
    assert video["directions"][1] == {"text": "Close-up of screen", "at": two.body.index("Now"), "source": "table"}
