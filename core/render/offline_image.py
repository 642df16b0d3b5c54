"""The offline image renderer: a 1280×720 storyboard card drawn with Pillow, no keys needed.

A card is a composition sketch (framing guides, horizon, a figure whose size tells wide / medium / close),
the frame label, the prompt wrapped beside it and the scene text (shaped Arabic) underneath. Everything
random is seeded from the prompt and the take: the same prompt and take always give the same PNG bytes (a retried
job finds the same card), and another take of the same prompt (a re-roll) draws another composition in the same
palette, so a re-roll always shows something new.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Sequence
from typing import Literal

from PIL import Image, ImageColor, ImageDraw, ImageOps

from core.hashing import stable_hash
from core.render.text import Color, draw_block, font

ShotSize = Literal["wide", "medium", "close"]

WIDTH, HEIGHT = 1280, 720
SKETCH = (32, 84, 832, 534)  # a 16:9 box, 800×450
PANEL = (868, 84, 1248, 534)
SCENE = (32, 560, 1248, 700)

# Calm, readable palettes used when the style bible names no colours: (sky, ground, figure, accent).
_PALETTES: tuple[tuple[str, str, str, str], ...] = (
    ("#dfe9f3", "#8fb3a8", "#2f4858", "#e07a5f"),
    ("#f4e9d8", "#c9a66b", "#3d405b", "#81b29a"),
    ("#e3eaf5", "#7d98b3", "#1d3557", "#e63946"),
    ("#f1f0ea", "#a3b18a", "#344e41", "#dda15e"),
    ("#eae4f2", "#9d8bb5", "#3c2a4d", "#f2a65a"),
)
_HEX_RE = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_WORD_RE = re.compile(r"[A-Za-z]+")


def classify_shot_size(text: str) -> ShotSize:
    """Map a prompt's shot size ("extreme wide shot", "medium close-up", "CU") to wide / medium / close."""
    t = text.lower().replace("-", " ")
    if any(w in t for w in ("close", " cu", "ecu", "macro", "detail", "insert")) or t.strip() in ("cu", "mcu"):
        return "close"
    if any(w in t for w in ("wide", "long", "establishing", "aerial", "full shot", " ws", " ls")):
        return "wide"
    return "medium"


def palette_from_text(text: str, seed: int) -> tuple[Color, Color, Color, Color]:
    """Colours named in the style bible (hex codes or CSS names), completed from a built-in palette."""
    found: list[Color] = []
    for code in _HEX_RE.findall(text or ""):
        found.append(_rgb(code))
    for word in _WORD_RE.findall(text or ""):
        if len(found) >= 4:
            break
        try:
            found.append(_rgb(word.lower()))
        except ValueError:
            continue
    base = [_rgb(c) for c in _PALETTES[seed % len(_PALETTES)]]
    if found:
        # Keep the sky light and the figure dark so the sketch stays readable whatever the bible says.
        found.sort(key=_luma, reverse=True)
        base[0] = _mix(found[0], (255, 255, 255), 0.55)
        if len(found) > 1:
            base[1] = found[len(found) // 2]
        base[2] = _mix(found[-1], (0, 0, 0), 0.35)
        base[3] = found[min(1, len(found) - 1)]
    return base[0], base[1], base[2], base[3]


def render_card(*, prompt: str, label: str, shot_size: str = "", scene_text: str = "",
                palette: str = "", width: int = WIDTH, height: int = HEIGHT,
                references: Sequence[tuple[str, bytes]] = (), take: str = "") -> bytes:
    """PNG bytes of the storyboard card for `prompt` (deterministic: same inputs, same bytes). `references` are
    (cast member or set name, image bytes): drawn as thumbnails in the sketch's corner, so the offline studio
    shows which reference a frame would be rendered with. `take` (the job's idempotency key) seeds the
    composition, not the palette: each take of a prompt differs, a retry of one take does not."""
    size = classify_shot_size(shot_size or prompt)
    seed = int(stable_hash(["card", prompt, size])[:12], 16)
    rng = random.Random(int(stable_hash(["card", prompt, size, take])[:12], 16) if take else seed)
    sky, ground, figure, accent = palette_from_text(palette, seed)

    img = Image.new("RGB", (WIDTH, HEIGHT), (250, 249, 246))
    draw = ImageDraw.Draw(img)
    _header(draw, label, size, accent)
    _sketch(img, size, rng, sky, ground, figure, accent)
    _references(img, draw, references)
    draw_block(draw, prompt or "(no prompt)", PANEL, size=19, fill=(40, 44, 52), max_lines=17)
    draw.line((SCENE[0], SCENE[1] - 10, SCENE[2], SCENE[1] - 10), fill=(215, 212, 205), width=2)
    if scene_text.strip():
        draw_block(draw, scene_text, SCENE, size=24, fill=(60, 60, 70), max_lines=3)
    if (width, height) != (WIDTH, HEIGHT):
        img = img.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


THUMB = (128, 128)


def _references(img: Image.Image, draw: ImageDraw.ImageDraw, references: Sequence[tuple[str, bytes]]) -> None:
    """Each reference as a framed thumbnail with its name, along the sketch's bottom-left edge."""
    x = SKETCH[0] + 12
    bottom = SKETCH[3] - 12
    for name, data in references[:4]:
        try:
            with Image.open(io.BytesIO(data)) as ref:
                thumb = ImageOps.fit(ref.convert("RGB"), THUMB, Image.Resampling.LANCZOS)
        except (OSError, ValueError):
            continue
        top = bottom - THUMB[1] - 22
        draw.rectangle((x - 3, top - 3, x + THUMB[0] + 3, bottom + 3), fill=(255, 255, 255), outline=(36, 41, 51),
                       width=2)
        img.paste(thumb, (x, top))
        draw_block(draw, name, (x, bottom - 20, x + THUMB[0], bottom), size=14, fill=(36, 41, 51), max_lines=1)
        x += THUMB[0] + 14


def _header(draw: ImageDraw.ImageDraw, label: str, size: ShotSize, accent: Color) -> None:
    draw.rectangle((0, 0, WIDTH, 60), fill=(36, 41, 51))
    draw.text((32, 14), label, font=font(24, bold=True), fill=(255, 255, 255))
    tag = {"wide": "WIDE SHOT", "medium": "MEDIUM SHOT", "close": "CLOSE-UP"}[size]
    tag_font = font(18, bold=True)
    tag_w = draw.textlength(tag, font=tag_font)
    draw.rounded_rectangle((WIDTH - 48 - tag_w, 14, WIDTH - 24, 46), radius=8, fill=accent)
    draw.text((WIDTH - 36 - tag_w, 17), tag, font=tag_font, fill=(255, 255, 255))
    note_font = font(14)
    note = "offline preview"
    draw.text((WIDTH - 60 - tag_w - draw.textlength(note, font=note_font), 22), note, font=note_font,
              fill=(170, 176, 186))


def _sketch(img: Image.Image, size: ShotSize, rng: random.Random, sky: Color, ground: Color,
            figure: Color, accent: Color) -> None:
    left, top, right, bottom = SKETCH
    w, h = right - left, bottom - top
    layer = Image.new("RGB", (w, h), sky)
    d = ImageDraw.Draw(layer)
    # Horizon: high in a wide shot (lots of ground), low in a medium, out of frame in a close-up.
    horizon = {"wide": 0.58, "medium": 0.72, "close": 1.05}[size] * h + rng.uniform(-12, 12)
    for i in range(int(min(horizon, h))):  # soft vertical gradient in the sky
        d.line((0, i, w, i), fill=_mix(sky, (255, 255, 255), 0.35 * (1 - i / max(horizon, 1))))
    if horizon < h:
        d.rectangle((0, horizon, w, h), fill=ground)
        d.line((0, horizon, w, horizon), fill=_mix(ground, (0, 0, 0), 0.3), width=2)
    _props(d, size, rng, w, h, horizon, ground, accent)
    _figure(d, size, rng, w, h, horizon, figure)
    _guides(d, w, h)
    img.paste(layer, (left, top))
    ImageDraw.Draw(img).rectangle(SKETCH, outline=(36, 41, 51), width=3)


def _props(d: ImageDraw.ImageDraw, size: ShotSize, rng: random.Random, w: int, h: int, horizon: float,
           ground: Color, accent: Color) -> None:
    if size == "close":  # out-of-focus background lights
        for _ in range(rng.randint(5, 9)):
            r = rng.randint(20, 60)
            x, y = rng.randint(0, w), rng.randint(0, int(h * 0.7))
            d.ellipse((x - r, y - r, x + r, y + r), fill=_mix(accent, (255, 255, 255), rng.uniform(0.45, 0.75)))
        return
    count = rng.randint(4, 7) if size == "wide" else rng.randint(2, 3)
    scale = 1.0 if size == "wide" else 2.2
    for _ in range(count):  # buildings / furniture standing on the horizon
        bw, bh = rng.randint(30, 80) * scale, rng.randint(40, 150) * scale
        bx = rng.uniform(0, w - bw)
        shade = _mix(ground, (0, 0, 0), rng.uniform(0.15, 0.4))
        d.rectangle((bx, horizon - bh, bx + bw, horizon), fill=shade)
    if size == "wide":  # a path to give depth
        d.polygon([(w * 0.45, h), (w * 0.55, h), (w * 0.51, horizon), (w * 0.49, horizon)],
                  fill=_mix(ground, (255, 255, 255), 0.35))


def _figure(d: ImageDraw.ImageDraw, size: ShotSize, rng: random.Random, w: int, h: int, horizon: float,
            color: Color) -> None:
    """A presenter silhouette: small and full-length (wide), waist-up (medium), a head and shoulders (close)."""
    cx = w * rng.choice((1 / 3, 2 / 3)) + rng.uniform(-20, 20)
    if size == "wide":
        fh = h * 0.26
        feet = horizon + h * 0.12
        head_r = fh * 0.11
        top = feet - fh
        d.ellipse((cx - head_r, top, cx + head_r, top + 2 * head_r), fill=color)
        d.rounded_rectangle((cx - fh * 0.14, top + 2.1 * head_r, cx + fh * 0.14, feet - fh * 0.4), radius=6,
                            fill=color)
        d.rectangle((cx - fh * 0.11, feet - fh * 0.42, cx - fh * 0.02, feet), fill=color)
        d.rectangle((cx + fh * 0.02, feet - fh * 0.42, cx + fh * 0.11, feet), fill=color)
        return
    head_r = h * (0.11 if size == "medium" else 0.24)
    head_y = h * (0.30 if size == "medium" else 0.42)
    shoulder = head_r * (2.6 if size == "medium" else 2.2)
    d.ellipse((cx - head_r, head_y - head_r, cx + head_r, head_y + head_r), fill=color)
    neck_y = head_y + head_r * 0.9
    d.rectangle((cx - head_r * 0.35, head_y, cx + head_r * 0.35, neck_y + head_r * 0.4), fill=color)
    d.rounded_rectangle((cx - shoulder, neck_y + head_r * 0.3, cx + shoulder, h + 40), radius=int(head_r),
                        fill=color)


def _guides(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Rule-of-thirds lines and title-safe corners, dashed so they read as guides, not content."""
    guide = (255, 255, 255)
    for frac in (1 / 3, 2 / 3):
        x, y = int(w * frac), int(h * frac)
        for s in range(0, h, 14):
            d.line((x, s, x, s + 6), fill=guide, width=1)
        for s in range(0, w, 14):
            d.line((s, y, s + 6, y), fill=guide, width=1)
    m, L = int(w * 0.05), 28
    for (x, y, dx, dy) in ((m, m, 1, 1), (w - m, m, -1, 1), (m, h - m, 1, -1), (w - m, h - m, -1, -1)):
        d.line((x, y, x + dx * L, y), fill=guide, width=2)
        d.line((x, y, x, y + dy * L), fill=guide, width=2)


def _rgb(value: str) -> Color:
    r, g, b = ImageColor.getrgb(value)[:3]
    return r, g, b


def _mix(a: Color, b: Color, t: float) -> Color:
    t = min(max(t, 0.0), 1.0)
    return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))


def _luma(c: Color) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
