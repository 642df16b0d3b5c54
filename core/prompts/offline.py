"""The built-in refiner: deterministic, no network, good enough to render from.

It composes a prompt from the frame's scene text, its place in the shot (first frame establishes wide, middle
frames are medium shots, the last is a close-up; a single-frame shot is medium), the style bible, and a small
vocabulary of lenses, camera angles, lighting and moods. Choices are made by hashing the inputs, so the same
frame always gets the same prompt; lighting and mood are chosen per shot, so a shot's frames stay coherent.
Arabic scene text is carried verbatim as a quoted subject: the image model is told what the scene is about
without being asked to draw the letters.
"""

from __future__ import annotations

import re

from core.hashing import stable_hash
from core.prompts.types import RefinedPrompt, RefineRequest

OFFLINE_TEMPLATE_VERSION = "offline-1"
NO_TEXT_NEGATIVE = "text, lettering, captions, subtitles, signs with words, logos, watermark"

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_MAX_SUBJECT_WORDS = 40

# Per frame role: (shot size word, phrase, lenses, camera positions). Wide roles get wide lenses, close-ups long ones.
_FRAMING: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "first": ("wide", "Establishing wide shot", ("24mm", "28mm", "21mm"),
              ("high vantage point", "eye level, deep focus", "slow dolly-in position")),
    "middle": ("medium", "Medium shot", ("35mm", "50mm"),
               ("eye level", "over-the-shoulder", "slight low angle")),
    "single": ("medium", "Medium shot", ("35mm", "50mm"),
               ("eye level", "slight high angle", "three-quarter angle")),
    "last": ("close-up", "Close-up", ("85mm", "100mm macro", "85mm"),
             ("eye level, shallow depth of field", "tight framing, shallow depth of field",
              "slight high angle, shallow depth of field")),
}
_LIGHTING = (
    "soft morning window light from the left",
    "warm golden-hour sunlight with long soft shadows",
    "diffused overcast daylight, even and gentle",
    "soft key light with warm fill, clean studio look",
    "cool blue-hour ambient light with warm practical lamps",
    "bright natural daylight through tall windows",
)
_MOODS = ("calm and focused", "warm and hopeful", "curious and inviting", "thoughtful and quiet",
          "clear and confident")
_DEFAULT_STYLE = "cinematic photorealistic educational film still"


def _pick(options: tuple[str, ...], *key: object) -> str:
    return options[int(stable_hash(list(key))[:8], 16) % len(options)]


def _clip_words(text: str, limit: int = _MAX_SUBJECT_WORDS) -> str:
    words = text.split()
    return " ".join(words[:limit]) + (" …" if len(words) > limit else "")


def has_arabic(text: str) -> bool:
    return bool(_ARABIC.search(text))


def _subject(req: RefineRequest) -> str:
    text = " ".join(req.scene_text.split())
    if not text:
        fallback = req.shot_summary.strip() or req.video_title.strip()
        text = " ".join(fallback.split())
    if not text:
        return "the lesson's subject, shown plainly"
    clipped = _clip_words(text)
    if has_arabic(clipped):
        # Quoted so the model treats it as the meaning of the scene, never as lettering to draw.
        return f'a scene visualising the narration "{clipped}" (shown as action and setting, not as text)'
    return clipped.rstrip(".")


class OfflineRefiner:
    """Deterministic prompts from templates and a vocabulary; never touches the network."""

    name = "offline"
    model = "builtin"
    template_version = OFFLINE_TEMPLATE_VERSION

    def refine(self, req: RefineRequest) -> RefinedPrompt:
        role = req.frame_role
        size, size_phrase, lenses, positions = _FRAMING[role]
        frame_key = (req.scene_text, req.video_title, req.shot_position, req.frame_position)
        shot_key = (req.video_title, req.shot_position, req.shot_summary)
        lens = _pick(lenses, "lens", *frame_key)
        position = _pick(positions, "position", *frame_key)
        # Lighting per video (one time of day keeps a video coherent), mood per shot.
        lighting = _pick(_LIGHTING, "lighting", req.course_title, req.video_title)
        mood = _pick(_MOODS, "mood", *shot_key)

        style = req.style
        visual_style = style.visual_style or _DEFAULT_STYLE
        parts = [f"{size_phrase} of {_subject(req)}."]
        if style.setting:
            parts.append(f"Setting: {style.setting.rstrip('.')}.")
        if style.characters:
            parts.append(f"Recurring characters, always identical: {style.characters.rstrip('.')}.")
        article = "an" if lens.startswith("8") else "a"
        parts.append(f"Shot on {article} {lens} lens, {position}.")
        parts.append(f"Lighting: {lighting}.")
        parts.append(f"Mood: {mood}.")
        style_bits = [visual_style] + ([f"palette of {style.palette}"] if style.palette else [])
        parts.append(f"Style: {'; '.join(style_bits)}.")
        if req.frame_position > 1:
            parts.append("Same location, time of day and wardrobe as the previous frame.")
        elif req.shot_position > 1:
            parts.append("Continues from the previous shot: same cast, wardrobe and time of day.")
        parts.append(f"Composed for a {style.aspect_ratio} frame, clean background, no on-screen text.")

        negative = NO_TEXT_NEGATIVE + (f", {style.negative_prompt}" if style.negative_prompt else "")
        notes = f"Style bible applied: {visual_style}" + (f"; palette {style.palette}" if style.palette else "")
        return RefinedPrompt(
            prompt=" ".join(parts),
            negative_prompt=negative,
            shot_size=size,
            camera=f"{lens} lens, {position}",
            lighting=lighting,
            style_notes=notes + ".",
        )
