"""What a render is made of: the parameters, labels, motion prompt and input hash of image and clip jobs.
Reads rows, writes nothing. What a provider and model can do (end frames, durations) is `core.catalog`'s answer;
what a render costs is `core.money`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import catalog
from core.catalog import OFFLINE_MODELS, PROVIDERS, Capabilities, Kind
from core.errors import NotFoundError, ValidationError
from core.hashing import stable_hash
from core.models import Asset, Frame, PromptVersion, Shot, Storyboard, StyleBible, Video
from core.prompts.keyframe import drawable
from core.settings import Settings

__all__ = ["OFFLINE_MODELS", "PROVIDERS", "Kind"]
MOTION_PROMPT_LIMIT = 900


def resolve_provider(settings: Settings, provider: str | None) -> str:
    name = provider or settings.active_renderer
    if name not in PROVIDERS:
        raise ValidationError(f"Unknown renderer {name!r}: choose 'offline' or 'higgs'")
    if name == "higgs" and settings.higgs_credentials is None:
        raise ValidationError("Higgs is not configured: set HF_KEY (\"id:secret\") or HF_API_KEY and "
                              "HF_API_SECRET in the settings, or render offline.")
    return name


def model_for(settings: Settings, provider: str, kind: Kind) -> str:
    return catalog.model_for(provider, kind, image_model=settings.higgs_image_model,
                             video_model=settings.higgs_video_model)


def published_schema(settings: Settings, provider: str, model: str) -> dict[str, Any] | None:
    """The model's published input schema (`core.higgs.published`: read once, cached per process and in the data
    dir); None for the offline renderer, or when it cannot be had (then the spec table answers)."""
    if provider != "higgs" or settings.higgs_credentials is None:
        return None
    from core.higgs.published import model_schema

    return model_schema(settings, model)


def capabilities_of(settings: Settings, provider: str, model: str, kind: Kind) -> Capabilities:
    """What `model` can do for renders of `kind` (`core.catalog`), from its published schema when there is one."""
    return catalog.capabilities(provider, model, kind=kind, schema=published_schema(settings, provider, model))


def capabilities_for(settings: Settings, provider: str, kind: Kind) -> Capabilities:
    """What the model this provider renders `kind` with can do (`core.catalog`, from the model's published
    schema when there is one: the same answer the worker builds the request body from)."""
    return capabilities_of(settings, provider, model_for(settings, provider, kind), kind)


def takes_end_frame(settings: Settings, provider: str) -> bool:
    """Whether clips of this provider's configured model can end on a second image."""
    return capabilities_for(settings, provider, "clip").takes_end_frame


@dataclass(frozen=True)
class ClipModelView:
    """What the configured video model takes, and on whose word: its published schema, or (`table_because`) the
    built-in model table because the schema could not be had. `with_end_frame`: models the account may use (or
    the table knows) that take a last frame, to suggest."""

    model: str
    caps: Capabilities
    table_because: str | None
    with_end_frame: tuple[str, ...]


def clip_model_view(settings: Settings, provider: str) -> ClipModelView:
    """The Clips page's answer, before anything is paid: the same capabilities requests and quotes use."""
    from core.higgs.schema import MODEL_SPECS, end_frame_field

    model = model_for(settings, provider, "clip")
    if provider != "higgs":
        return ClipModelView(model, capabilities_of(settings, provider, model, "clip"), None, ())
    why: str | None
    if settings.higgs_credentials is None:
        why, listed = "no Higgs key is set", None
    else:
        from core.higgs.published import model_list

        models = model_list(settings)
        listed = models.schemas
        if models.schema(model) is not None:
            why = None
        elif models.schemas is None:
            why = models.problem or "the model list could not be read"
        elif model not in models.schemas:
            why = "the model is not in this account's model list (it may have been retired)"
        else:
            why = "the model publishes no input schema"
    if listed:
        ends = tuple(sorted(slug for slug, schema in listed.items() if slug != model and schema
                            and isinstance(schema.get("properties"), dict) and end_frame_field(slug, schema)))
    else:
        ends = tuple(s.slug for s in MODEL_SPECS.values() if s.kind == "clip" and s.end_field)
    return ClipModelView(model, capabilities_for(settings, provider, "clip"), why, ends)


def read_model_schemas(settings: Settings, provider: str | None) -> None:
    """Have the model list at hand before a request opens its transaction, so no write lock is held while the
    list is read from the network (at most once per `core.higgs.published.TTL_S`)."""
    if (provider or settings.active_renderer) == "higgs" and settings.higgs_credentials is not None:
        from core.higgs.published import model_list

        model_list(settings)


def live_frames(shot: Shot) -> list[Frame]:
    return [f for f in shot.frames if f.deleted_at is None]


def video_of_shot(session: Session, shot: Shot) -> Video:
    board = session.get(Storyboard, shot.storyboard_id)
    video = session.get(Video, board.video_id) if board else None
    if video is None:
        raise NotFoundError(f"Shot {shot.id} belongs to no video")
    return video


def selected_prompt(session: Session, frame: Frame) -> PromptVersion:
    prompt = session.get(PromptVersion, frame.selected_prompt_id) if frame.selected_prompt_id else None
    if prompt is None:
        raise ValidationError(f"Refine a prompt first: frame {frame.position} of shot {frame.shot.position} "
                              "has no selected prompt")
    return prompt


Lookups = dict[tuple[str, int], Any]


def memo(lookups: Lookups | None, key: tuple[str, int], make: Callable[[], Any]) -> Any:
    """`make()` once per key in a batch (`lookups`), so a video's frames do not each reload their shot's cast,
    video and style bible (and the rows stay referenced, so the session's identity map keeps them)."""
    if lookups is None:
        return make()
    if key not in lookups:
        lookups[key] = make()
    return lookups[key]


def image_params(session: Session, frame: Frame, prompt: PromptVersion, *, settings: Settings,
                 provider: str, lookups: Lookups | None = None) -> dict[str, Any]:
    """Everything besides the prompt that shapes the image. Offline cards also draw the label and scene text."""
    params: dict[str, Any] = {"aspect_ratio": settings.aspect_ratio, "negative_prompt": prompt.negative_prompt}
    refs = memo(lookups, ("refs", frame.shot_id), lambda: reference_params(session, frame.shot))
    if refs:  # only when there are any, so frames without a cast keep their hashes
        params["references"] = refs
    if provider == "offline":
        video: Video = memo(lookups, ("video", frame.shot.storyboard_id), lambda: video_of_shot(session, frame.shot))
        bible = memo(lookups, ("bible", video.source_file_id), lambda: session.scalar(
            select(StyleBible).where(StyleBible.source_file_id == video.source_file_id)))
        params["card"] = {
            "label": f"Video {video.number} · Shot {frame.shot.position} · Frame {frame.position}",
            "shot_size": prompt.shot_size,
            "scene_text": frame.scene_text,
            "palette": bible.palette if bible else "",
        }
    return params


def reference_params(session: Session, shot: Shot) -> list[dict[str, Any]]:
    """The cast and set reference images a render of this shot sends (part of its parameters, so of its hash:
    changing a reference marks exactly the frames that show it stale)."""
    from core.cast import shot_references

    return [r.as_param() for r in shot_references(session, shot)]


def image_input_hash(frame_id: int, prompt: PromptVersion, provider: str, model: str,
                     params: dict[str, Any]) -> str:
    return stable_hash({"kind": "image", "frame": frame_id, "prompt_version": prompt.id, "prompt": prompt.text,
                        "provider": provider, "model": model, "params": params})


def clip_input_hash(shot_id: int, prompt: str, provider: str, model: str, params: dict[str, Any],
                    inputs: Sequence[tuple[str, int]]) -> str:
    """`inputs` are ("asset", id) once the start/end images exist, ("job", id) while they are being rendered;
    the worker rewrites the hash with asset ids when it resolves them, so asking again later finds this job."""
    return stable_hash({"kind": "clip", "shot": shot_id, "prompt": prompt, "provider": provider, "model": model,
                        "params": params, "inputs": [list(i) for i in inputs]})


# How each move of the planner's vocabulary reads in a video model's prompt.
CAMERA_PHRASES = {
    "static": "Static, locked-off camera", "push in": "Slow push in", "pull out": "Slow pull out",
    "pan left": "Slow pan left", "pan right": "Slow pan right", "tilt up": "Slow tilt up",
    "tilt down": "Slow tilt down", "orbit": "Slow orbit around the subject", "tracking": "Smooth tracking shot",
    "handheld": "Gentle handheld camera",
}
DEFAULT_MOVE = "Slow, steady push-in"


def motion_prompt(session: Session, shot: Shot, frames: Sequence[Frame]) -> str:
    """The clip's prompt: the shot's planned camera move and motion (a calm push-in when it has no plan), from the
    picture of `frames[0]` (the clip's start image) towards that of `frames[-1]`; only English text is quoted."""
    texts = []
    for frame in (frames[0], frames[-1]) if len(frames) > 1 else frames[:1]:
        pv = session.get(PromptVersion, frame.selected_prompt_id) if frame.selected_prompt_id else None
        texts.append(_first_sentence(drawable(pv.text if pv else frame.scene_text)))
    move = CAMERA_PHRASES.get(shot.camera_move.strip().lower(), DEFAULT_MOVE) if shot.camera_move else DEFAULT_MOVE
    parts = [f"{move}; subtle natural motion, consistent characters, lighting and set."]
    # Only what reads as English goes in: quoted Arabic invites lettering in the picture (as in image prompts).
    for label, text in (("Motion", shot.motion_prompt), ("Shot", shot.summary)):
        if drawable(text):
            parts.append(f"{label}: {_first_sentence(drawable(text))}")
    if texts[0]:
        parts.append(f"Opens on: {texts[0]}")
    if len(texts) > 1 and texts[1] and texts[1] != texts[0]:
        parts.append(f"Ends on: {texts[1]}")
    parts.append("No on-screen text.")
    prompt = " ".join(parts)
    return prompt if len(prompt) <= MOTION_PROMPT_LIMIT else prompt[: MOTION_PROMPT_LIMIT - 1].rstrip() + "…"


@dataclass(frozen=True)
class ClipEnds:
    """Which frames a clip starts and ends on. `chained_from` is the shot whose last keyframe it starts on."""

    start: Frame
    end: Frame | None
    chained_from: Shot | None = None


def clip_ends(session: Session, shot: Shot, frames: Sequence[Frame], *, settings: Settings,
              provider: str, lookups: Lookups | None = None) -> ClipEnds:
    """Start on the shot's first keyframe — or, with "chain shots" on, on the previous shot's last one — and end on
    its last keyframe whenever the model takes an end frame (`takes_end_frame`)."""
    from core.continuity import chained_from

    before: Shot | None = memo(lookups, ("chained", shot.id), lambda: chained_from(session, shot))
    before_frames = live_frames(before) if before is not None else []
    start = before_frames[-1] if before_frames else frames[0]
    chained = before if before_frames else None
    takes_end = takes_end_frame(settings, provider)
    end = frames[-1] if takes_end and (len(frames) > 1 or chained is not None) else None
    return ClipEnds(start, end, chained)


def narration_seconds(text: str, settings: Settings) -> float:
    """How long the narration takes to say at the speaking rate (`SPEAKING_RATE_WPM`), with no audio yet."""
    from core.timing import estimated_seconds

    return estimated_seconds(text, wpm=settings.speaking_rate_wpm, min_seconds=0.0)


def _narrated_seconds(shot: Shot, settings: Settings) -> float:
    """The shot's length on the one timing rule (`core.timing.shot_length`): its narration audio's once voiced;
    else the words-per-minute estimate (0 for a shot with nothing to say, so the clip length setting applies)."""
    from sqlalchemy.orm import object_session

    from core.timing import shot_length

    session = object_session(shot)
    voice = session.get(Asset, shot.selected_voice_id) if session is not None and shot.selected_voice_id else None
    return shot_length(shot.narration or "", voice_s=voice.duration_s if voice is not None else None,
                       wpm=settings.speaking_rate_wpm, min_seconds=0.0).seconds


def clip_duration(shot: Shot, *, settings: Settings, provider: str, model: str) -> int | None:
    """The duration the model accepts that is nearest to the shot's narration length (the configured clip length
    for a shot without narration); None for a model that takes no duration (fixed-length clips)."""
    seconds = _narrated_seconds(shot, settings) or float(settings.clip_duration_s)
    return capabilities_of(settings, provider, model, "clip").fit_duration(seconds)


def clips_out_of_step(session: Session, video_id: int, *, settings: Settings) -> dict[int, str]:
    """Shot id → why its clip no longer fits its narration: the shot was voiced (or re-voiced) after the clip was
    rendered, and a clip asked for now would last another accepted duration than the one it has. Only voiced shots
    are judged (a words-per-minute estimate is no reason to pay for a clip again); fixed-length models never are."""
    from core.models import Job
    from core.review import current_shots

    shots = [s for s in current_shots(session, video_id) if s.selected_clip_id and s.selected_voice_id]
    if not shots:
        return {}
    made: dict[int, object] = dict(session.execute(select(Asset.id, Job.params).join(Job, Job.id == Asset.job_id)
                                .where(Asset.id.in_([s.selected_clip_id for s in shots]))).tuples().all())
    voices: dict[int, float | None] = dict(session.execute(select(Asset.id, Asset.duration_s)
                                  .where(Asset.id.in_([s.selected_voice_id for s in shots]))).tuples().all())
    try:
        provider = resolve_provider(settings, None)
    except ValidationError:  # no renderer can be used: the page says so where it offers renders
        return {}
    model = model_for(settings, provider, "clip")
    out: dict[int, str] = {}
    for shot in shots:
        params = made.get(shot.selected_clip_id or 0)
        had = params.get("duration") if isinstance(params, dict) else None
        wanted = clip_duration(shot, settings=settings, provider=provider, model=model)
        spoken = voices.get(shot.selected_voice_id or 0)
        if wanted is None or had is None or spoken is None or float(had) == float(wanted):
            continue
        out[shot.id] = (f"Its narration now lasts {spoken:.1f} s: a clip rendered now would last {wanted} s "
                        f"(this one was made for {float(had):g} s). Re-render it to match the voice.")
    return out


def _first_sentence(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    for stop in (". ", "؟ ", "? ", "! "):
        if stop in text[:limit]:
            text = text[: text.index(stop) + 1]
            break
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
