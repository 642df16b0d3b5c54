"""Segmentation: preface, one segment per video header, warnings, and no text ever lost."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.ingest import Block, Segmentation, segment_blocks, segment_docx

LIMITS = {"max_upload_bytes": 50 * 1024 * 1024, "max_uncompressed_bytes": 200 * 1024 * 1024}

# Written out by hand (not generated) so the test checks the generator in core.ingest.ordinals.
ARABIC_ORDINALS_1_TO_30 = [
    "الأول",
    "الثاني",
    "الثالث",
    "الرابع",
    "الخامس",
    "السادس",
    "السابع",
    "الثامن",
    "التاسع",
    "العاشر",
    "الحادي عشر",
    "الثاني عشر",
    "الثالث عشر",
    "الرابع عشر",
    "الخامس عشر",
    "السادس عشر",
    "السابع عشر",
    "الثامن عشر",
    "التاسع عشر",
    "العشرون",
    "الحادي والعشرون",
    "الثاني والعشرون",
    "الثالث والعشرون",
    "الرابع والعشرون",
    "الخامس والعشرون",
    "السادس والعشرون",
    "السابع والعشرون",
    "الثامن والعشرون",
    "التاسع والعشرون",
    "الثلاثون",
]


def seg(blocks: list[tuple[object, ...]], **kw: object) -> Segmentation:
    from tests.core.docx_factory import make_docx

    return segment_docx(make_docx(blocks, **kw), **LIMITS)  # type: ignore[arg-type]


def test_arabic_script_with_heading_headers_preface_and_table() -> None:
    result = seg(
        [
            ("para", "دورة البرمجة للمبتدئين"),
            ("para", "هذه الدورة موجهة للطلاب الجدد."),
            ("heading", "الفيديو الأول: مقدمة"),
            ("para", "في هذا الفيديو نتعرف على البرمجة."),
            ("table", [["المشهد", "الوصف"], ["1", "طالب أمام الحاسوب"]]),
            ("heading", "الفيديو الثاني: الأدوات"),
            ("para", "نثبت المحرر."),
        ]
    )
    assert result.title == "دورة البرمجة للمبتدئين"
    assert result.preface == "دورة البرمجة للمبتدئين\nهذه الدورة موجهة للطلاب الجدد."
    assert [(v.number, v.title) for v in result.videos] == [(1, "مقدمة"), (2, "الأدوات")]
    assert result.videos[0].body == "في هذا الفيديو نتعرف على البرمجة.\nالمشهد | الوصف\n1 | طالب أمام الحاسوب"
    assert result.videos[1].header_text == "الفيديو الثاني: الأدوات"
    assert result.warnings == []


def test_english_script_with_bold_headers_and_core_title() -> None:
    result = seg(
        [
            ("bold", "Video One: Getting started"),
            ("para", "We open the editor."),
            ("bold", "VIDEO 2 - Variables"),
            ("para", "A variable holds a value."),
        ],
        title="Python course",
    )
    assert result.title == "Python course"
    assert result.preface == ""
    assert [(v.number, v.title, v.body) for v in result.videos] == [
        (1, "Getting started", "We open the editor."),
        (2, "Variables", "A variable holds a value."),
    ]


def test_plain_line_headers_and_a_sentence_mentioning_a_video() -> None:
    result = seg(
        [
            ("para", "فيديو ١"),
            ("para", "في الفيديو الثاني سنتعلم الحلقات، أما هنا فنبدأ بالأساسيات."),
            ("para", "فيديو ٢"),
            ("para", "الحلقات."),
        ]
    )
    assert [v.number for v in result.videos] == [1, 2]
    assert result.videos[0].body.startswith("في الفيديو الثاني سنتعلم")
    assert result.videos[0].title == "فيديو ١"  # no subtitle: the header line itself


def test_thirty_videos_with_ordinal_words_tatweel_and_diacritics() -> None:
    blocks: list[tuple[object, ...]] = [("para", "مقدمة")]
    for i, ordinal in enumerate(ARABIC_ORDINALS_1_TO_30, start=1):
        word = "الفيـــديو" if i % 3 == 0 else ("الفِيدْيُو" if i % 3 == 1 else "الفيديو")
        kind = ("heading", "bold", "para")[i % 3]
        blocks.append((kind, f"{word} {ordinal}: درس {i}"))
        blocks.append(("para", f"نص الدرس رقم {i}."))
    result = seg(blocks)
    assert [v.number for v in result.videos] == list(range(1, 31))
    assert [v.title for v in result.videos] == [f"درس {i}" for i in range(1, 31)]
    assert all(v.body == f"نص الدرس رقم {v.number}." for v in result.videos)
    assert result.warnings == []


def test_no_header_gives_one_video_with_everything_and_a_warning() -> None:
    result = seg([("para", "سطر أول"), ("para", "سطر ثان")])
    assert len(result.videos) == 1
    assert result.videos[0].number == 1
    assert result.videos[0].body == "سطر أول\nسطر ثان"
    assert result.preface == ""
    assert len(result.warnings) == 1 and "No video headers" in result.warnings[0]


def test_repeated_and_out_of_order_numbers_keep_document_order_with_warnings() -> None:
    result = seg(
        [
            ("heading", "Video 1"),
            ("para", "a"),
            ("heading", "Video 3"),
            ("para", "b"),
            ("heading", "Video 2"),
            ("para", "c"),
            ("heading", "Video 3"),
            ("para", "d"),
        ]
    )
    assert [(v.number, v.body) for v in result.videos] == [(1, "a"), (3, "b"), (2, "c"), (3, "d")]
    joined = " ".join(result.warnings)
    assert "more than once" in joined and "3" in joined
    assert "out of order" in joined


def test_gap_in_numbering_and_empty_video_are_reported() -> None:
    result = seg([("heading", "Video 1"), ("para", "a"), ("heading", "Video 3"), ("heading", "Video 4"), ("para", "b")])
    joined = " ".join(result.warnings)
    assert "2 are missing" in joined
    assert "Video 3" in joined and "no text" in joined


def test_header_after_a_soft_line_break_starts_a_video() -> None:
    blocks = [Block(text="مقدمة\nالفيديو الأول\nنص", kind="paragraph")]
    result = segment_blocks(blocks)
    assert result.preface == "مقدمة"
    assert [(v.number, v.body) for v in result.videos] == [(1, "نص")]


def test_to_json_has_exactly_the_documented_shape() -> None:
    result = seg([("para", "مقدمة"), ("heading", "الفيديو الأول: بداية"), ("para", "نص")])
    assert result.to_json() == {
        "title": "مقدمة",
        "preface": "مقدمة",
        "videos": [{"number": 1, "title": "بداية", "body": "نص", "directions": [], "scenes": []}],
        "warnings": [],
    }


# ---- no text is ever dropped ------------------------------------------------------------------------

LINES = st.sampled_from(
    [
        "الفيديو الأول",
        "الفيديو الثاني: عنوان",
        "فيديو ٣ - شيء",
        "Video 4",
        "VIDEO FIVE: x",
        "الفيديو رقم 6",
        "في الفيديو الأول سنتعلم",
        "نص عادي.",
        "Another plain line.",
        "الفيـديو السابع",
        "Video 2020 review",
        "مقدمة الدورة",
        "A | B | C",
    ]
)
BLOCKS = st.lists(
    st.tuples(st.lists(LINES, min_size=1, max_size=3), st.booleans(), st.sampled_from(["paragraph", "table"])),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(BLOCKS)
def test_every_line_lands_in_preface_title_header_or_body(raw: list[tuple[list[str], bool, str]]) -> None:
    blocks = [Block(text="\n".join(lines), kind=kind, bold=bold) for lines, bold, kind in raw]  # type: ignore[arg-type]
    result = segment_blocks(blocks)
    placed = result.preface.split("\n") if result.preface else []
    for video in result.videos:
        if video.header_text:
            placed.append(video.header_text)
        placed.extend(video.body.split("\n") if video.body else [])
    expected = [line for lines, _, _ in raw for line in lines]
    assert placed == expected  # every line, once, in document order


def test_table_of_contents_entries_and_shot_list_rows_do_not_start_videos() -> None:
    blocks = [
        Block(text="الفيديو الأول: مقدمة\t3", kind="paragraph", style="toc 1"),
        Block(text="الفيديو الثاني: الأدوات\t7", kind="paragraph", style="toc 1"),
        Block(text="الفيديو الأول: مقدمة", kind="paragraph", style="Heading 1", heading_level=1),
        Block(text="Video 1 | Scene 2 | طالب يفتح الحاسوب", kind="table"),
        Block(text="Video 2 | Setup", kind="table"),
        Block(text="نثبت المحرر.", kind="paragraph"),
    ]
    result = segment_blocks(blocks)
    assert result.preface == "الفيديو الأول: مقدمة\t3\nالفيديو الثاني: الأدوات\t7"
    assert [(v.number, v.title, v.body) for v in result.videos] == [
        (1, "مقدمة", "Video 1 | Scene 2 | طالب يفتح الحاسوب"),
        (2, "Setup", "نثبت المحرر."),
    ]
