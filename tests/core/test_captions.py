"""Caption rules a viewer notices: no caption twice in a row, none shorter than a second, at most 42 characters a
line (two lines a cue), and right-to-left lines whose full stop lands at the left end in any player."""

from __future__ import annotations

import itertools

from fpdf.bidi import BidiParagraph
from fpdf.enums import TextDirection
from hypothesis import given, settings
from hypothesis import strategies as st

from core.exports import captions
from core.exports.data import ShotRow, VideoRow

WPM = 130.0


def _video(*narrations: str) -> VideoRow:
    shots = tuple(ShotRow(i, i, "", text, "draft", (), None, None) for i, text in enumerate(narrations, 1))
    return VideoRow(1, 1, 1, "t", "", "", shots)


def _srt_cues(video: VideoRow) -> list[captions.Cue]:
    return captions.parse_captions(captions.to_srt(captions.caption_cues(video, wpm=WPM)))


def test_a_sentence_two_shots_share_is_one_cue_not_the_same_caption_twice() -> None:
    said = "مرحبا بكم في هذه الدورة."
    video = _video(said, said, "Now the next idea, in English.")
    cues = _srt_cues(video)
    assert [c.text for c in cues] == [said, "Now the next idea, in English."]
    timings = captions.shot_timings(video.shots, wpm=WPM)
    assert cues[0].start == 0 and cues[0].end == timings[1].end  # shown through both shots


def test_a_short_sentence_is_on_screen_for_a_second_and_cues_still_end_with_their_shot() -> None:
    video = _video("Yes. This is a much longer sentence that takes a while to say out loud.", "Next shot.")
    cues = captions.caption_cues(video, wpm=WPM)
    assert cues[0].text == "Yes." and cues[0].end - cues[0].start >= 1.0
    timings = captions.shot_timings(video.shots, wpm=WPM)
    assert cues[1].end == timings[0].end and cues[2].start == timings[1].start


def test_one_word_sentences_in_quick_shots_still_get_a_second_each() -> None:
    video = _video("Yes. No. Maybe.", "Ok. Fine.", "Right then, let us begin the lesson properly now.")
    cues = captions.caption_cues(video, wpm=WPM)
    assert " ".join(c.text for c in cues) == "Yes. No. Maybe. Ok. Fine. Right then, let us begin\nthe lesson properly now."
    assert all(c.end - c.start >= 1.0 - 1e-6 for c in cues), cues
    assert all(a.end <= b.start + 1e-6 for a, b in itertools.pairwise(cues))  # never two at once
    assert cues[-1].end == captions.shot_timings(video.shots, wpm=WPM)[-1].end


def test_no_line_is_longer_than_42_characters_even_with_a_long_link() -> None:
    link = "https://example.org/a/very/long/path/that/no/line/can/hold/at/all.html"
    video = _video(f"سنزور الموقع {link} لنقرأ المزيد عن أساسيات التصميم الجرافيكي الحديث اليوم.")
    cues = captions.caption_cues(video, wpm=WPM)
    lines = [line for c in cues for line in c.text.split("\n")]
    assert max(len(line) for line in lines) <= 42
    assert all(c.text.count("\n") <= 1 for c in cues)
    assert "".join(lines).count("/") == link.count("/")  # the link cut, not lost


def _shown(line: str, base: TextDirection) -> str:
    """The line as a player lays it out, left to right on screen (the Unicode bidi algorithm, fpdf2's copy)."""
    return BidiParagraph(line, base_direction=base).get_reordered_string()


def test_rtl_lines_have_their_punctuation_at_the_left_end_in_any_player() -> None:
    video = _video("هل فهمت الدرس؟ نعم، فهمته جيدا.", "Did you get it? Yes.")
    srt = captions.to_srt(captions.caption_cues(video, wpm=WPM))
    lines = [line for line in srt.split("\n") if line and "-->" not in line and not line.isdigit()]
    arabic = [line for line in lines if captions.is_rtl(line.strip("\u202b\u202c"))]
    assert len(arabic) == 2
    for line in arabic:
        for base in (TextDirection.LTR, TextDirection.RTL):  # a player that lays lines out left to right, or not
            shown = _shown(line, base).strip("\u202b\u202c")
            assert shown[0] in "؟." and shown[-1] not in "؟.", (line, shown)
    english = [line for line in lines if line.startswith("Did") or line.startswith("Yes")]
    assert english == ["Did you get it?", "Yes."]  # left-to-right lines are left as they are
    # Reading the file back gives the words, not the layout marks.
    assert [c.text for c in captions.parse_captions(srt)][:2] == ["هل فهمت الدرس؟", "نعم، فهمته جيدا."]


WORDS = st.sampled_from(["مرحبا", "بكم", "في", "الدورة", "the", "colour", "wheel", "a", "supercalifragilistic",
                         "x" * 50, "3D", "2024", "نعم"])
SENTENCE = st.lists(WORDS, min_size=1, max_size=30).map(lambda ws: " ".join(ws) + ".")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(SENTENCE, min_size=0, max_size=4).map(" ".join), min_size=1, max_size=6))
def test_every_rule_holds_for_any_narration(narrations: list[str]) -> None:
    video = _video(*narrations)
    cues = captions.caption_cues(video, wpm=WPM)
    end = captions.shot_timings(video.shots, wpm=WPM)[-1].end
    for a, b in itertools.pairwise(cues):
        assert " ".join(a.text.split()) != " ".join(b.text.split())
        assert a.end <= b.start + 1e-6
    assert all(len(line) <= 42 for c in cues for line in c.text.split("\n"))
    assert all(c.text.count("\n") <= 1 for c in cues)
    if cues and end >= len(cues):  # when the narration is long enough to give each cue a second
        assert all(c.end - c.start >= 1.0 - 1e-6 for c in cues), cues
        assert cues[-1].end <= end + 1e-6
