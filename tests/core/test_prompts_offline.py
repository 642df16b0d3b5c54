"""The offline refiner: deterministic prompts that follow the shot position and carry the style bible."""

from __future__ import annotations

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
    return RefineRequest(scene_text=scene, video_title="الدرس الأول", shot_summary="المعلم في الفصل",
                         frame_position=position, frame_count=count, style=BIBLE, **kw)  # type: ignore[arg-type]


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


def test_arabic_scene_is_a_quoted_subject() -> None:
    scene = "يكتب المعلم على السبورة عنوان الدرس"
    result = OfflineRefiner().refine(_req(1, 3, scene))
    assert f'"{scene}"' in result.prompt
    assert "not as text" in result.prompt


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


def test_empty_scene_falls_back_to_shot_summary() -> None:
    result = OfflineRefiner().refine(_req(1, 1, "   "))
    assert '"المعلم في الفصل"' in result.prompt
