"""What a provider and model can do: the one place planning, pricing and the pages ask.

A render's shape depends on the model: which images it takes (a start image only, or a start and an end frame),
which durations it accepts (a list, any whole second, or none at all for fixed-length clips), whether it takes
cast and set reference images, and what its price is counted in (per image, per second of clip, or — for a
voice — per character of spoken text). For Higgs
models the answers come from `core.higgs.schema` (the model's published input schema when given, else the spec
table, else a guess from the slug's shape); the offline renderer's answers are fixed here. Nobody else switches on
provider or model names to decide these things.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["image", "clip"]
PriceUnit = Literal["image", "clip_second", "character"]
PRICE_UNITS: tuple[PriceUnit, ...] = ("image", "clip_second", "character")
PROVIDERS = ("offline", "higgs")
# Voice jobs (core.voice) carry "voice-<provider>" in `Job.provider`; the offline voice, like the offline renderer,
# is free. A voice is priced per character of spoken text (after the lexicon), as OpenAI prices text-to-speech.
OFFLINE_PROVIDERS = ("offline", "voice-offline")
# The names the offline renderer's renders are priced under (at zero) on the rate card.
OFFLINE_MODELS: dict[str, str] = {"image": "offline", "clip": "offline-clip"}
# The offline renderer accepts any whole second in this range (it crossfades stills).
OFFLINE_DURATIONS = (1, 20)
# A clip model that takes no duration renders clips of one fixed length; without a published length we price
# such a clip at this many seconds (the length every fixed-length Kling model renders).
FIXED_CLIP_SECONDS = 5


@dataclass(frozen=True)
class Capabilities:
    """What one provider + model takes and how it is priced.

    `durations`: the accepted clip lengths in seconds; `()` when any whole second will do; None when the model
    takes no duration (fixed-length clips, `FIXED_CLIP_SECONDS`). Always None for image models.
    """

    provider: str
    model: str
    kind: Kind
    price_unit: PriceUnit
    start_field: str | None = None
    end_field: str | None = None
    durations: tuple[int, ...] | None = None
    references: bool = False

    @property
    def takes_end_frame(self) -> bool:
        """Whether a clip can end on a second image (the shot's last keyframe)."""
        return self.kind == "clip" and self.end_field is not None

    def fit_duration(self, seconds: float) -> int | None:
        """The duration this model would be sent for a clip of about `seconds`: the accepted one nearest to it (a
        tie goes to the longer, so the narration fits); None for a model that takes no duration. The same rule
        (`core.higgs.schema.nearest_duration`) snaps the duration in the request body, so priced = sent."""
        from core.higgs.schema import nearest_duration

        if self.kind != "clip" or self.durations is None:
            return None
        low, high = OFFLINE_DURATIONS
        return nearest_duration(seconds, self.durations, low=low, high=high)

    def billed_seconds(self, duration: float | None) -> float:
        """The seconds a clip sent with `duration` is billed for. A clip job carries the duration it is sent with
        (a fixed-length model's job: its one length, `FIXED_CLIP_SECONDS`), decided from the model's published
        schema when it could be read; without one, a clip is billed for that one length."""
        if duration is None or duration <= 0:
            return float(FIXED_CLIP_SECONDS)
        return float(duration)


def capabilities(provider: str, model: str, *, schema: dict[str, Any] | None = None,
                 kind: Kind | None = None) -> Capabilities:
    """What `model` on `provider` can do. `schema` is the model's published input schema when known (it wins
    over the spec table, as it does when the request body is built). `kind` is what the caller renders with it
    (the configured video model renders clips whatever its slug looks like); None: guessed from the slug."""
    if provider == "offline":
        offline_kind: Kind = "clip" if model == OFFLINE_MODELS["clip"] else "image"
        if offline_kind == "clip":
            return Capabilities(provider, model, "clip", "clip_second", start_field="start", end_field="end",
                                durations=(), references=True)
        return Capabilities(provider, model, "image", "image", references=True)
    from core.higgs.schema import clip_durations, end_frame_field, model_spec, reference_field, start_frame_field

    spec = model_spec(model, kind)
    if spec.kind == "image":
        return Capabilities(provider, model, "image", "image",
                            references=reference_field(model, schema) is not None)
    return Capabilities(provider, model, "clip", "clip_second", start_field=start_frame_field(model, schema),
                        end_field=end_frame_field(model, schema), durations=clip_durations(model, schema),
                        references=reference_field(model, schema) is not None)


def model_for(provider: str, kind: Kind, *, image_model: str, video_model: str) -> str:
    """The model a provider renders `kind` with: the offline renderer's own, else the configured Higgs model."""
    if provider == "offline":
        return OFFLINE_MODELS[kind]
    return image_model if kind == "image" else video_model


def is_offline(provider: str) -> bool:
    """Whether renders of `provider` cost nothing (the offline renderer and the offline voice)."""
    return provider in OFFLINE_PROVIDERS


def price_unit(provider: str, model: str, kind: str | None = None) -> PriceUnit:
    """What a model's price counts: images, seconds of clip, or characters spoken. `kind` (the job's) wins when
    known: a job knows what it rendered even when its model's name gives no hint."""
    if kind == "voice":
        return "character"
    if kind is not None:
        return "image" if kind == "image" else "clip_second"
    return capabilities(provider, model).price_unit
