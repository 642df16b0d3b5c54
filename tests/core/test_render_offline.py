"""The offline renderers: storyboard cards (shot sizes, labels, shaped Arabic) and push-in clips."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.render.media import verify_image, verify_video
from core.render.offline_clip import render_clip
from core.render.offline_image import SKETCH, classify_shot_size, palette_from_text, render_card
from core.render.text import can_shape_arabic, draw_block

PROMPT = "A presenter in a navy sweater explains a diagram on a whiteboard, soft daylight, flat illustration"
SCENE = "يكتب المعلم على السبورة عنوان الدرس"


def _card(shot_size: str, **kw: str) -> bytes:
    return render_card(prompt=kw.pop("prompt", PROMPT), label="Video 1 · Shot 2 · Frame 3", shot_size=shot_size,
                       scene_text=kw.pop("scene_text", SCENE), palette=kw.pop("palette", "navy, #F2E8CF, teal"))


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _figure_share(png: bytes) -> float:
    """How much of the sketch the (dark) figure covers."""
    left, top, right, bottom = SKETCH
    sketch = _pixels(png)[top + 4:bottom - 4, left + 4:right - 4]
    return float((sketch.sum(axis=2) < 150).mean())


def test_card_is_a_deterministic_1280x720_png() -> None:
    png = _card("medium shot")
    info = verify_image(png, max_bytes=10 * 1024 * 1024)
    assert (info.content_type, info.width, info.height) == ("image/png", 1280, 720)
    assert _card("medium shot") == png
    assert _card("medium shot", prompt=PROMPT + " at dusk") != png


def test_composition_differs_by_shot_size() -> None:
    wide, medium, close = (_card(s) for s in ("extreme wide establishing shot", "medium shot", "close-up"))
    assert len({wide, medium, close}) == 3
    # The figure grows from a small full-length silhouette to a head and shoulders filling the frame.
    assert _figure_share(wide) < _figure_share(medium) < _figure_share(close)
    assert _figure_share(wide) < 0.03 and _figure_share(close) > 0.15
    assert [classify_shot_size(s) for s in ("Wide shot", "MCU", "medium close-up", "over-the-shoulder")] == \
        ["wide", "close", "close", "medium"]


def test_palette_comes_from_the_style_bible() -> None:
    sky, ground, figure, accent = palette_from_text("deep navy #1D3557 and warm orange", seed=1)
    assert figure[2] > figure[0]  # the darkest named colour (navy) draws the figure
    assert sum(sky) > sum(figure)  # the sky stays light whatever the bible says
    plain = palette_from_text("", seed=1)
    assert plain != (sky, ground, figure, accent)


@pytest.mark.skipif(not can_shape_arabic(), reason="Pillow built without libraqm")
def test_arabic_is_shaped_and_right_to_left() -> None:
    def ink(text: str) -> tuple[np.ndarray, int]:
        img = Image.new("RGB", (900, 80), (255, 255, 255))
        draw_block(ImageDraw.Draw(img), text, (10, 10, 890, 70), size=32, fill=(0, 0, 0))
        arr = np.asarray(img.convert("L")) < 128
        return arr, int(arr.sum())

    # A long first word and a short second: in right-to-left order the long word is on the right.
    arr, _ = ink("مممممممممممم ا")
    cols = np.nonzero(arr.any(axis=0))[0]
    assert cols.max() > 880  # right-aligned
    gap = int(np.argmax(np.diff(cols)))  # the space between the two words
    left_word, right_word = cols[gap] - cols[0], cols[-1] - cols[gap + 1]
    assert right_word > 3 * left_word
    # Shaped: joined letters take less room than the same letters drawn apart (isolated forms).
    joined = np.nonzero(ink("سلسلة")[0].any(axis=0))[0]
    apart = np.nonzero(ink("س ل س ل ة")[0].any(axis=0))[0]
    assert joined.max() - joined.min() < apart.max() - apart.min()
    # And the card really draws the scene text: it changes the pixels below the sketch.
    with_text, without = _pixels(_card("wide")), _pixels(_card("wide", scene_text=""))
    assert (with_text[560:700] != without[560:700]).any() and (with_text[:540] == without[:540]).all()


def test_clip_is_h264_24fps_five_seconds() -> None:
    # Its speed is bench/render.py's to measure: a timed assert here failed on a loaded two-core machine
    start, end = _card("wide shot"), _card("close-up")
    mp4 = render_clip(start, end, duration_s=5)
    info = verify_video(mp4, max_bytes=50 * 1024 * 1024)
    assert (info.codec, info.fps, info.width % 2, info.height % 2) == ("h264", 24.0, 0, 0)
    assert info.width <= 1280 and info.height <= 720
    assert info.duration_s == pytest.approx(5.0, abs=0.1)
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.pix_fmt == "yuv420p"
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(stream)]
    assert len(frames) == 120
    small = [np.asarray(Image.open(io.BytesIO(p)).convert("RGB").resize((info.width, info.height)), dtype=np.int16)
             for p in (start, end)]
    diff = [[float(np.abs(f - ref).mean()) for ref in small] for f in (frames[0], frames[-1])]
    assert diff[0][0] < diff[0][1]  # opens on the start image
    assert diff[1][1] < diff[1][0]  # ends on the end image
    assert float(np.abs(frames[0] - frames[40]).mean()) > 0.5  # the push-in moves


def test_arabic_scene_text_with_brackets_quotes_and_marks_is_drawn_without_empty_boxes() -> None:
    """Noto Sans Arabic has no ( ) [ ] " / glyphs: a card's Arabic line holding them is drawn in a font that has
    every glyph of it, and ?, ; and % take their Arabic forms."""
    from core.render.text import _glyphs, arabic_line

    text, covered = arabic_line("المعلم يسأل: ما الخلية؟ (انظر الشكل) ثم \"الغشاء\"؛ النسبة 50%?")
    assert "?" not in text and "؟" in text and "٪" in text
    assert not covered
    dejavu = _glyphs("DejaVuSans-Regular.ttf")
    assert all(ord(ch) in dejavu for ch in text if not ch.isspace())
    plain, ok = arabic_line("مرحبا بكم في الدرس الأول.")
    assert ok and plain == "مرحبا بكم في الدرس الأول."
