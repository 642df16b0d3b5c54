"""The course's voice, kept in its style bible so every video of a course sounds the same.

Four fields of the `style_bibles` row (migration 0012): the voice provider ("" = the studio's default), the voice
name ("" = the provider's default), the speed (1 = normal) and the pronunciation lexicon. They are not part of the
visual style's hash (`core.prompts.style`): a new voice must not make every image prompt stale.

A take is what was said and who said it (`voice_hash`): the provider, model, voice and speed, and the spoken text,
which is the narration after the lexicon (`spoken_text`). A take spoken by another provider or voice is another
take (it replaces the selected one as it arrives, `core.jobs.takes`), and a lexicon entry changes only the shots
whose spoken text it changes: an entry no shot uses makes nothing stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.errors import ValidationError
from core.models import StyleBible
from core.voice.lexicon import apply_lexicon, validate_lexicon

VOICE_PROVIDERS = ("openai", "offline")
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse")
OFFLINE_VOICES = ("auto", "ar", "en-us", "en-gb")  # espeak-ng's; "auto" = Arabic or English by the text
PROVIDER_LABELS = {"openai": "the OpenAI voice", "offline": "the offline voice (espeak-ng)"}
MIN_SPEED, MAX_SPEED = 0.5, 2.0
VOICE_HASH_VERSION = "2"


@dataclass(frozen=True)
class VoiceStyle:
    provider: str = ""  # "" = the studio's default (settings.voice_provider, else openai with a key, else offline)
    voice: str = ""  # "" = the provider's default voice
    speed: float = 1.0
    lexicon: Mapping[str, str] = field(default_factory=dict)


DEFAULT_VOICE_STYLE = VoiceStyle()


def voice_style(row: StyleBible | None) -> VoiceStyle:
    """The course's voice (the default when the script has no style bible yet)."""
    if row is None:
        return DEFAULT_VOICE_STYLE
    lexicon = row.voice_lexicon if isinstance(row.voice_lexicon, dict) else {}
    return VoiceStyle(provider=row.voice_provider or "", voice=row.voice_name or "",
                      speed=float(row.voice_speed or 1.0),
                      lexicon={str(k): str(v) for k, v in lexicon.items()})


def voices_of(provider: str) -> tuple[str, ...]:
    """The voice names `provider` knows ("" = the studio's default provider: either's)."""
    if provider == "openai":
        return OPENAI_VOICES
    if provider == "offline":
        return OFFLINE_VOICES
    return (*OPENAI_VOICES, *OFFLINE_VOICES)


def _speaks_with(provider: str, voice: str) -> bool:
    """Whether `provider` can speak with `voice`. The offline voice has its fixed list; an OpenAI-compatible server
    may offer voices of its own besides OpenAI's, so any name that is not an espeak voice is its to judge."""
    if provider == "offline":
        return voice in OFFLINE_VOICES
    if provider == "openai":
        return voice in OPENAI_VOICES or voice not in OFFLINE_VOICES
    return True  # the studio's default provider: decided when the shot is voiced


def voice_for_provider(provider: str, saved: str) -> str:
    """The course's saved voice when `provider` can speak with it, else "" (the provider's default): a course
    saved with "nova" and voiced offline speaks in espeak's "auto" voice, not an error on every job."""
    return saved if saved and _speaks_with(provider, saved) else ""


def check_voice(provider: str, voice: str) -> None:
    """`ValidationError` unless `voice` ("" = the provider's default) is one `provider` can speak with."""
    if not voice or _speaks_with(provider, voice):
        return
    if provider in PROVIDER_LABELS:
        other = next((p for p in VOICE_PROVIDERS if p != provider and voice in voices_of(p)), None)
        why = f" ({voice!r} is a voice of {PROVIDER_LABELS[other]})" if other else ""
        label = PROVIDER_LABELS[provider]
        raise ValidationError(f"{label[0].upper()}{label[1:]} has no voice {voice!r}{why}: choose one "
                              f"of {', '.join(voices_of(provider))}, or the provider's default")
    raise ValidationError(f"No voice provider has a voice {voice!r}: choose one of "
                          f"{', '.join(OPENAI_VOICES)} (OpenAI) or {', '.join(OFFLINE_VOICES)} (offline)")


def spoken_text(narration: str, lexicon: Mapping[str, str]) -> str:
    """What the voice is asked to say for `narration`: its words (whitespace squeezed) after the lexicon."""
    return apply_lexicon(" ".join(narration.split()), lexicon)


def voice_hash(*, provider: str, model: str, voice: str, speed: float, spoken: str) -> str:
    """What a narration take is: the words spoken (after the lexicon) and who spoke them (provider, model, voice,
    speed). Two takes with the same hash say the same thing the same way; a new take with another hash replaces
    the selected one."""
    payload = {"v": VOICE_HASH_VERSION, "provider": provider.removeprefix("voice-"), "model": model,
               "voice": voice, "speed": round(float(speed), 3), "spoken": " ".join(spoken.split())}
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def job_voice_hash(provider: str, model: str | None, params: object, spoken: str | None) -> str:
    """`voice_hash` of a voice job as stored (`Job.provider`, `model`, `params` and `prompt_text`, the spoken
    text): the same for a job queued today and one queued before the hash changed."""
    values = params if isinstance(params, dict) else {}
    return voice_hash(provider=provider, model=model or "", voice=str(values.get("voice") or ""),
                      speed=float(values.get("speed") or 1.0), spoken=spoken or "")


def update_voice_style(session: Session, file_id: int, *, actor: str = "", provider: str | None = None,
                       voice: str | None = None, speed: float | None = None,
                       lexicon: Mapping[str, str] | None = None) -> VoiceStyle:
    """Change the course's voice; bad values raise `ValidationError` (nothing is changed then)."""
    require("edit")
    from core.prompts.style import get_style_bible

    changes: dict[str, Any] = {}
    if provider is not None:
        provider = provider.strip().lower()
        if provider not in ("", *VOICE_PROVIDERS):
            raise ValidationError(f"Unknown voice provider {provider!r}; choose one of: {', '.join(VOICE_PROVIDERS)}")
        changes["voice_provider"] = provider
    if voice is not None:
        voice = voice.strip()
        if len(voice) > 64 or any(not (ch.isalnum() or ch in "-_+.") for ch in voice):
            raise ValidationError("A voice name is at most 64 letters, digits, '-', '_', '+' or '.'")
        changes["voice_name"] = voice
    if speed is not None:
        if not MIN_SPEED <= float(speed) <= MAX_SPEED:
            raise ValidationError(f"The voice speed must be between {MIN_SPEED} and {MAX_SPEED} (1 = normal)")
        changes["voice_speed"] = float(speed)
    if lexicon is not None:
        changes["voice_lexicon"] = validate_lexicon(lexicon)
    row = get_style_bible(session, file_id)
    if provider is not None or voice is not None:  # the pair as it will be saved must go together
        check_voice(changes.get("voice_provider", row.voice_provider or ""),
                    changes.get("voice_name", row.voice_name or ""))
    changed = [k for k, v in changes.items() if getattr(row, k) != v]
    for name in changed:
        setattr(row, name, changes[name])
    if changed:
        log_activity(session, "voice_style.updated", actor=actor, source_file_id=file_id,
                     subject_type="source_file", subject_id=file_id, fields=changed)
        session.flush()
    return voice_style(row)
