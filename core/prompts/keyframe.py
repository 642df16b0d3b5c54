"""What a keyframe's prompt is drawn from: the frame's own description and the shot's plan, beside its beat.

A frame's `scene_text` is the keyframe: what is seen. Its `beat` is the narration it illustrates, and the shot
carries the script's visual directions and the plan's size, camera move, subject, action and location. Refiners
draw the first and the plan, and read the narration as context: an image model asked to show quoted narration
draws lettering, and Arabic quoted inside an English prompt jumbles its punctuation wherever the prompt is shown.
"""

from __future__ import annotations

import re
from typing import Any



_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def has_arabic(text: str) -> bool:
    return bool(_ARABIC.search(text))


def keyframe_fields(frame: Any, shot: Any) -> dict[str, Any]:
    """The plan parts of a frame's refine request (see `core.prompts.types.RefineRequest`).

    `frame` and `shot` are ORM rows or the columns `core.board` read of them: only their plan fields are read."""
    directions = tuple(str(d).strip() for d in shot.directions or [] if str(d).strip())
    return {
        "beat": (frame.beat or "").strip(),
        "directions": directions,
        "planned_size": (shot.shot_size or "").strip(),
        "camera_move": (shot.camera_move or "").strip(),
        "subject": (shot.subject or "").strip(),
        "action": (shot.action or "").strip(),
        "location": (shot.location or "").strip(),
    }


# A direction's own label ("[Visual: …]", "(On screen: …)", "B-roll: …"): the script's markup, not the picture.
_LABELLED = re.compile(r"^[\[(]\s*(?:visual|picture|image|on[ -]screen|b[ -]?roll|shot|camera|graphic)s?\s*:\s*(.*?)\s*[\])]?$"
                       r"|^(?:visual|picture|image|on[ -]screen|b[ -]?roll|graphic)s?\s*:\s*(.*)$", re.IGNORECASE)


def drawable(text: str) -> str:
    """`text` when it can go into an English prompt as it is (a direction without its "[Visual: …]" label); ''
    when it is (or holds) Arabic."""
    text = " ".join(text.split())
    if has_arabic(text):
        return ""
    labelled = _LABELLED.match(text)
    return (labelled.group(1) or labelled.group(2) or "").strip() if labelled else text
