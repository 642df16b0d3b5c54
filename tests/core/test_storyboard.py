from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ValidationError
from core.sentences import split_sentences
from core.storyboard import StoryboardPlan, build_storyboard, summarize

ARABIC_BODY = (
    "في هذا الدرس نتعرف على أساسيات الذكاء الاصطناعي. ما هو التعلم الآلي؟ "
    "إنه فرع من فروع الذكاء الاصطناعي يتعلم من البيانات. نبدأ بمثال بسيط؛ "
    "تصنيف الصور إلى قطط وكلاب. ثم ننتقل إلى التدريب والاختبار. "
    "تبلغ الدقة ٩٥٫٥ بالمئة في المثال. هذا رقم جيد! بعد ذلك نناقش الأخطاء الشائعة. "
    "وأخيرا نلخص ما تعلمناه. نلتقي في الفيديو القادم. شكرا لكم. إلى اللقاء."
)


def _frames(plan: StoryboardPlan) -> list[str]:
    return [frame.scene_text for shot in plan.shots for frame in shot.frames]


def _frame_sentences(plan: StoryboardPlan) -> list[list[str]]:
    return [split_sentences(text) for text in _frames(plan)]


def test_default_grid_is_four_shots_of_three_frames() -> None:
    plan = build_storyboard(ARABIC_BODY)
    assert [len(shot.frames) for shot in plan.shots] == [3, 3, 3, 3]
    assert plan.frame_count == 12
    assert all(_frames(plan))


def test_sentences_are_laid_out_in_order_without_cuts_or_losses() -> None:
    sentences = split_sentences(ARABIC_BODY)
    plan = build_storyboard(ARABIC_BODY, shots=2, frames=3)
    flat = [s for group in _frame_sentences(plan) for s in group]
    assert flat == sentences  # more sentences than frames: each appears exactly once, in order
    assert [x for shot in plan.shots for x in split_sentences(shot.narration)] == sentences
    # The narration is the body's own text, where its span says.
    assert all(ARABIC_BODY[slice(*shot.narration_span)] == shot.narration for shot in plan.shots)


def test_narration_keeps_the_line_breaks_of_the_script() -> None:
    body = "The first line is here.\nThe second one is too.\nThe third line is here.\nThe last one is too."
    plan = build_storyboard(body, shots=2, frames=1)
    assert [shot.narration for shot in plan.shots] == [
        "The first line is here.\nThe second one is too.", "The third line is here.\nThe last one is too."]
    assert [shot.frames[0].scene_text for shot in plan.shots] == [
        "The first line is here. The second one is too.", "The third line is here. The last one is too."]


def test_decimal_number_stays_inside_its_sentence() -> None:
    plan = build_storyboard(ARABIC_BODY, shots=4, frames=3)
    assert any("٩٥٫٥ بالمئة في المثال." in text for text in _frames(plan))


def test_equal_sentences_are_spread_evenly() -> None:
    body = " ".join(f"Sentence number {i:02d} is here." for i in range(25))
    plan = build_storyboard(body, shots=4, frames=3)
    sizes = [len(group) for group in _frame_sentences(plan)]
    assert sum(sizes) == 25
    assert max(sizes) - min(sizes) <= 1


def test_long_sentence_gets_a_frame_of_its_own_and_short_ones_share() -> None:
    long = "This one sentence goes on and on " + "and on " * 60 + "until it ends."
    body = f"Short one. Short two. {long} Short three. Short four."
    plan = build_storyboard(body, shots=1, frames=3)
    frames = _frames(plan)
    assert frames[1] == long
    assert frames[0] == "Short one. Short two."
    assert frames[2] == "Short three. Short four."


def test_fewer_sentences_than_frames_reuses_the_nearest_sentence() -> None:
    plan = build_storyboard("The only sentence. A second one.", shots=2, frames=3)
    frames = _frames(plan)
    assert len(frames) == 6 and all(frames)
    assert frames[0] == "The only sentence."
    assert frames[-1] == "A second one."
    assert set(frames) == {"The only sentence.", "A second one."}
    # Reuse is contiguous: once the text moves on it never comes back.
    assert frames == sorted(frames, key=["The only sentence.", "A second one."].index)


def test_shot_summary_is_the_first_sentence_cut_to_twelve_words() -> None:
    body = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen. "
            "Short closing line.")
    plan = build_storyboard(body, shots=2, frames=1)
    assert plan.shots[0].summary == "one two three four five six seven eight nine ten eleven twelve…"
    assert plan.shots[1].summary == "Short closing line"
    assert summarize("هل أنتم مستعدون؟") == "هل أنتم مستعدون"


def test_empty_body_gives_the_requested_grid_with_empty_frames() -> None:
    plan = build_storyboard("   \n ", shots=2, frames=2)
    assert [len(shot.frames) for shot in plan.shots] == [2, 2]
    assert _frames(plan) == ["", "", "", ""]
    assert all(shot.summary == "" and shot.narration == "" for shot in plan.shots)


@pytest.mark.parametrize(("shots", "frames"), [(0, 3), (4, 0), (-1, 2), (201, 1), (1, 51)])
def test_out_of_range_counts_are_rejected_with_a_message(shots: int, frames: int) -> None:
    with pytest.raises(ValidationError, match="between"):
        build_storyboard("Hello.", shots=shots, frames=frames)


_SENTENCE = st.builds(
    lambda words, mark: " ".join(words) + mark,
    st.lists(st.sampled_from(["alpha", "beta", "درس", "مثال", "3.5", "٣٫٥", "e.g.", "gamma-delta"]),
             min_size=1, max_size=15),
    st.sampled_from([".", "!", "?", "؟", "؛", ""]),
)


@settings(max_examples=250, deadline=None)
@given(
    st.lists(_SENTENCE, max_size=40),
    st.sampled_from([" ", "\n", "  "]),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=1, max_value=5),
)
def test_storyboard_properties(parts: list[str], sep: str, shots: int, frames: int) -> None:
    body = sep.join(parts)
    sentences = split_sentences(body)
    plan = build_storyboard(body, shots=shots, frames=frames)

    assert plan == build_storyboard(body, shots=shots, frames=frames)  # deterministic
    assert len(plan.shots) == shots
    assert all(len(shot.frames) == frames for shot in plan.shots)

    if not sentences:
        assert all(text == "" for text in _frames(plan))
        return
    groups = _decompose(_frames(plan), sentences)
    assert all(groups)  # no empty frame
    flat = [i for group in groups for i in group]
    # Whole sentences, in reading order, each shown at least once; a sentence repeats only in adjacent frames.
    assert flat[0] == 0 and flat[-1] == len(sentences) - 1
    assert all(b - a in (0, 1) for a, b in zip(flat, flat[1:]))
    if len(sentences) >= shots * frames:
        assert flat == list(range(len(sentences)))  # nothing repeated when there is enough text
    for shot in plan.shots:
        assert shot.narration and shot.summary


def _decompose(frames: list[str], sentences: list[str]) -> list[list[int]]:
    """Which sentence indices each frame's text is made of; fails if a frame is not whole sentences in order."""
    groups: list[list[int]] = []
    nxt = 0
    for text in frames:
        for start in (nxt, nxt - 1):
            if start < 0:
                continue
            match = next((j for j in range(start + 1, len(sentences) + 1)
                          if " ".join(sentences[start:j]) == text), None)
            if match is not None:
                groups.append(list(range(start, match)))
                nxt = match
                break
        else:
            raise AssertionError(f"frame {text!r} is not a run of whole sentences following the previous frame")
    return groups
