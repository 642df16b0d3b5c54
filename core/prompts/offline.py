"""The built-in refiner: deterministic, no network, good enough to render from.

It draws the keyframe: the frame's description (its scene text), the shot's plan (size, camera move, subject,
action, location) and the script's visual directions, in the style bible's look. Framing follows the planned shot
size, else the frame's place in its shot (first frame establishes wide, middle frames are medium shots, the last
is a close-up; a single-frame shot is medium). Lenses, camera positions, lighting and moods come from a small
vocabulary, chosen by hashing the inputs, so the same frame always gets the same prompt; lighting and mood are
chosen per shot, so a shot's frames stay coherent.

The prompt is English only. Arabic text — a description, a direction, the narration — is never put into it: an
image model shown quoted words draws lettering, and Arabic inside an English sentence jumbles its right-to-left
punctuation on every page that shows the prompt. When a keyframe has nothing in English yet (an offline board of
an Arabic script), the prompt draws the presenter and the setting of the style bible; refine with OpenAI, or plan
the shots, for pictures that follow the narration.
"""

from __future__ import annotations


from core.hashing import stable_hash
from core.prompts.keyframe import drawable, has_arabic  # noqa: F401 - has_arabic is part of this module's API
from core.prompts.types import RefinedPrompt, RefineRequest

OFFLINE_TEMPLATE_VERSION = "offline-3"  # 3: directions without their "[Visual: …]" label, subjects by frame role
NO_TEXT_NEGATIVE = "text, lettering, captions, subtitles, signs with words, logos, watermark"

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


def _subject(req: RefineRequest) -> str:
    """What the keyframe shows, in English: its description, the plan's subject and action, else the script's
    directions, else the shot's summary or the video's title, else the presenter of the style bible."""
    picture = drawable(req.scene_text).rstrip(".")
    planned = drawable(" ".join(p for p in (req.subject, req.action) if p)).rstrip(".")
    pieces = [p for p in (picture, planned) if p]
    if len(pieces) == 2 and pieces[1].lower() in pieces[0].lower():
        pieces.pop()
    if not pieces:
        pieces = [d.rstrip(".") for d in (drawable(x) for x in req.directions) if d][:2]
    if not pieces:
        pieces = [p.rstrip(".") for p in (drawable(req.shot_summary), drawable(req.video_title)) if p][:1]
    if not pieces:
        who = _clip_words(drawable(req.style.characters).rstrip(".") or "the course presenter", 20)
        return _NOTHING_IN_ENGLISH.get(req.frame_role, _NOTHING_IN_ENGLISH["single"]).format(who=who)
    return _clip_words("; ".join(pieces))


# What a keyframe with nothing in English shows, by its place in the shot: the shot still moves from an
# introduction to the detail, instead of every frame of a video reading the same.
_NOTHING_IN_ENGLISH = {
    "first": "{who} introducing the lesson's idea, a clear visual aid beside them",
    "middle": "{who} explaining the idea step by step, pointing at a clear visual aid",
    "last": "the detail of the visual aid that {who} explains, hands pointing at it",
    "single": "{who} explaining the lesson's idea with a clear visual aid",
}


# The planner's shot sizes, mapped onto the framing table's rows.
_SIZE_ROLE = {"extreme wide": "first", "wide": "first", "medium wide": "middle", "medium": "middle",
              "medium close-up": "last", "close-up": "last", "extreme close-up": "last"}


class OfflineRefiner:
    """Deterministic prompts from templates and a vocabulary; never touches the network."""

    name = "offline"
    model = "builtin"
    template_version = OFFLINE_TEMPLATE_VERSION

    def refine(self, req: RefineRequest) -> RefinedPrompt:
        planned = req.planned_size.strip().lower()
        role = _SIZE_ROLE.get(planned, req.frame_role)
        size, size_phrase, lenses, positions = _FRAMING[role]
        if planned in _SIZE_ROLE:
            size, size_phrase = planned, planned[:1].upper() + planned[1:] + " shot"
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
        location = drawable(req.location) or drawable(style.setting)
        if location:
            parts.append(f"Setting: {location.rstrip('.')}.")
        directions = [d for d in (drawable(x) for x in req.directions) if d]
        if directions and drawable(req.scene_text):
            parts.append(f"Script direction: {_clip_words('; '.join(directions), 30).rstrip('.')}.")
        if style.characters:
            parts.append(f"Recurring characters, always identical: {style.characters.rstrip('.')}.")
        article = "an" if lens.startswith("8") else "a"
        parts.append(f"Shot on {article} {lens} lens, {position}.")
        move = req.camera_move.strip().lower()
        if move:
            parts.append(f"Keyframe of a {move} shot." if move != "static" else "Keyframe of a static shot.")
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
            camera=f"{lens} lens, {position}" + (f", {req.camera_move.strip().lower()}" if req.camera_move else ""),
            lighting=lighting,
            style_notes=notes + ".",
        )
