"""The offline refiner: deterministic prompts that follow the shot position and carry the style bible."""

from __future__ import annotations

from core.prompts.keyframe import has_arabic
from core.prompts.offline import OfflineRefiner
from core.prompts.types import RefineRequest, StyleBibleData

BIBLE = StyleBibleData(
    visual_style="soft watercolour illustration",
    palette="sand, olive and indigo",
    characters="Sami, a bearded teacher in a grey jacket and round glasses",
    setting="a sunlit classroom in an old stone school",
    aspect_ratio="16:9",
    negative_prompt="modern cars",
)


def _req(position: int, count: int, scene: str = "يكتب المعلم على السبورة عنوان الدرس", **kw: object) -> RefineRequest:
    kw.setdefault("shot_summary", "المعلم في الفصل")
    return RefineRequest(scene_text=scene, video_title="الدرس الأول", frame_position=position, frame_count=count,
                         style=BIBLE, **kw)  # type: ignore[arg-type]


def test_framing_follows_the_place_in_the_shot() -> None:
    refiner = OfflineRefiner()
    first, middle, last = (refiner.refine(_req(p, 3)) for p in (1, 2, 3))
    single = refiner.refine(_req(1, 1))

    assert first.shot_size == "wide" and first.prompt.startswith("Establishing wide shot")
    assert middle.shot_size == "medium" and middle.prompt.startswith("Medium shot")
    assert last.shot_size == "close-up" and last.prompt.startswith("Close-up")
    assert single.shot_size == "medium"
    lens = {p.shot_size: p.camera.split(" lens")[0] for p in (first, middle, last)}
    assert lens["wide"] in ("21mm", "24mm", "28mm")
    assert lens["medium"] in ("35mm", "50mm")
    assert lens["close-up"] in ("85mm", "100mm macro")
    assert len({first.prompt, middle.prompt, last.prompt}) == 3


def test_prompt_carries_the_style_bible_and_keeps_text_out() -> None:
    result = OfflineRefiner().refine(_req(2, 3))
    for expected in (BIBLE.visual_style, BIBLE.palette, BIBLE.characters, BIBLE.setting, "16:9"):
        assert expected in result.prompt
    assert result.negative_prompt.startswith("text, lettering")
    assert result.negative_prompt.endswith("modern cars")
    assert "no on-screen text" in result.prompt
    assert BIBLE.visual_style in result.style_notes


def test_arabic_narration_never_enters_the_english_prompt() -> None:
    scene = "يكتب المعلم على السبورة عنوان الدرس"
    result = OfflineRefiner().refine(_req(1, 3, scene, beat="ثم يشرح المعلم الفكرة.",
                                          directions=("لقطة قريبة: يدا المعلم",)))
    assert not has_arabic(result.prompt) and '"' not in result.prompt
    assert not has_arabic(result.camera + result.style_notes)
    assert BIBLE.characters in result.prompt  # with nothing in English to draw, the presenter is drawn


def test_the_keyframe_and_the_shot_plan_are_drawn() -> None:
    result = OfflineRefiner().refine(_req(
        1, 3, "A cell membrane seen through a microscope, glowing edges", beat="الخلية لها غشاء يحيط بها.",
        planned_size="close-up", camera_move="push in", location="a university biology lab",
        directions=("[Visual: microscope on a lab bench]", "موسيقى هادئة")))
    assert result.prompt.startswith("Close-up shot of A cell membrane seen through a microscope")
    assert result.shot_size == "close-up" and "push in" in result.camera and "push in shot" in result.prompt
    assert "Setting: a university biology lab." in result.prompt
    assert "Script direction: microscope on a lab bench." in result.prompt  # without the script's "[Visual: …]"
    assert not has_arabic(result.prompt)


def test_a_plan_changes_the_prompts_input_hash_but_an_unplanned_frame_keeps_its_old_one() -> None:
    plain = _req(1, 3, "A caravan.")
    assert "beat" not in plain.context_fields() and "camera_move" not in plain.context_fields()
    assert _req(1, 3, "A caravan.", camera_move="orbit").context_fields()["camera_move"] == "orbit"


def test_english_scene_is_used_directly_and_long_text_is_clipped() -> None:
    result = OfflineRefiner().refine(_req(1, 1, "A caravan crosses the desert at sunrise."))
    assert "of A caravan crosses the desert at sunrise." in result.prompt and '"' not in result.prompt
    long = OfflineRefiner().refine(_req(1, 1, " ".join(f"word{i}" for i in range(100))))
    assert "word39 …" in long.prompt and "word40" not in long.prompt


def test_deterministic_and_sensitive_to_inputs() -> None:
    refiner = OfflineRefiner()
    assert refiner.refine(_req(2, 3)) == OfflineRefiner().refine(_req(2, 3))
    assert refiner.refine(_req(2, 3)).prompt != refiner.refine(_req(2, 3, "تقترب الكاميرا من كتاب مفتوح")).prompt
    other_style = _req(2, 3).model_copy(update={"style": BIBLE.model_copy(update={"palette": "black and gold"})})
    assert "black and gold" in refiner.refine(other_style).prompt


def test_frames_of_a_video_share_lighting() -> None:
    refiner = OfflineRefiner()
    lights = {refiner.refine(_req(p, 3, shot_position=s, shot_count=3)).lighting for s in (1, 2, 3) for p in (1, 2, 3)}
    assert len(lights) == 1, "one time of day per video keeps continuity"


def test_continuity_wording() -> None:
    refiner = OfflineRefiner()
    assert "previous frame" in refiner.refine(_req(2, 3)).prompt
    assert "previous shot" in refiner.refine(_req(1, 3, shot_position=2, shot_count=3)).prompt
    opening = refiner.refine(_req(1, 3, shot_position=1, shot_count=3)).prompt
    assert "previous" not in opening


def test_empty_scene_falls_back_to_an_english_shot_summary_else_the_presenter() -> None:
    english = OfflineRefiner().refine(_req(1, 1, "   ", shot_summary="The teacher greets the class"))
    assert english.prompt.startswith("Medium shot of The teacher greets the class.")
    arabic = OfflineRefiner().refine(_req(1, 1, "   "))  # the summary is Arabic: never quoted in
    assert not has_arabic(arabic.prompt) and BIBLE.characters in arabic.prompt


def test_an_arabic_only_shot_still_reads_as_a_shot_not_three_copies() -> None:
    """With nothing in English yet (an offline board of an Arabic script), a shot's start, middle and end frames
    still describe different pictures."""
    from core.prompts.offline import OfflineRefiner
    from core.prompts.types import RefineRequest

    prompts = {OfflineRefiner().refine(RefineRequest(
        scene_text="المعلم يشرح الدرس", video_title="الدرس الأول", shot_position=1, frame_position=n,
        frame_count=3)).prompt.split(".")[0] for n in (1, 2, 3)}
    assert len(prompts) == 3
