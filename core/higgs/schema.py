"""Request bodies per model, and checking a body against a model's published input schema before paying.

Field names differ by model (`image_url` vs `first_frame_url` / `last_frame_url`; which knobs exist at all):
this module is the one place that knows them. The model's own schema from `GET /models?include_schema=true`
stays the source of truth; `check_body` reports where a body disagrees with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import jsonschema
from jsonschema.exceptions import SchemaError


@dataclass(frozen=True)
class ModelSpec:
    """What we know of one model: its kind, its reference-image fields and the optional knobs it takes."""

    slug: str
    kind: Literal["image", "clip"]
    fields: frozenset[str]
    start_field: str | None = None
    end_field: str | None = None
    default_resolution: str | None = None
    durations: tuple[int, ...] = ()
    reference_field: str | None = None  # where identity references go (cast and set images), if anywhere
    reference_list: bool = True  # the field takes a list of URLs (else one URL)


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.slug: spec
    for spec in (
        ModelSpec("higgsfield-ai/soul/standard", "image", frozenset({"prompt", "aspect_ratio", "resolution"}),
                  default_resolution="720p"),
        ModelSpec("bytedance/seedream/v4/text-to-image", "image",
                  frozenset({"prompt", "aspect_ratio", "resolution"}), default_resolution="2K"),
        ModelSpec("flux-pro/kontext/max/text-to-image", "image",
                  frozenset({"prompt", "aspect_ratio", "seed", "safety_tolerance"})),
        ModelSpec("bytedance/seedream/v4/edit", "image", frozenset({"prompt", "aspect_ratio", "resolution",
                                                                     "image_urls"}),
                  default_resolution="2K", reference_field="image_urls"),
        ModelSpec("kling-video/o1/reference-to-video", "clip",
                  frozenset({"prompt", "image_url", "duration", "aspect_ratio", "reference_image_urls"}),
                  start_field="image_url", durations=(5, 10), reference_field="reference_image_urls"),
        ModelSpec("kling-video/v2.1/pro/image-to-video", "clip", frozenset({"prompt", "image_url"}),
                  start_field="image_url"),
        ModelSpec("kling-video/v2.6/pro/image-to-video", "clip",
                  frozenset({"prompt", "image_url", "duration", "cfg_scale", "aspect_ratio", "sound"}),
                  start_field="image_url", durations=(5, 10)),
        ModelSpec("kling-video/v2.5-turbo/pro/image-to-video", "clip",
                  frozenset({"prompt", "image_url", "tail_image_url", "duration", "negative_prompt"}),
                  start_field="image_url", end_field="tail_image_url", durations=(5, 10)),
        ModelSpec("kling-video/omni/first-last-frame", "clip",
                  frozenset({"prompt", "first_frame_url", "last_frame_url", "duration", "mode", "aspect_ratio"}),
                  start_field="first_frame_url", end_field="last_frame_url", durations=(5, 10)),
    )
}


def model_spec(slug: str) -> ModelSpec:
    """The known spec, or a guess from the slug's shape for models the table does not list yet."""
    known = MODEL_SPECS.get(slug)
    if known is not None:
        return known
    low = slug.lower()
    if "first-last" in low or "first_last" in low:
        return ModelSpec(slug, "clip", frozenset({"prompt", "first_frame_url", "last_frame_url", "duration"}),
                         start_field="first_frame_url", end_field="last_frame_url")
    if "video" in low or "kling" in low:
        return ModelSpec(slug, "clip", frozenset({"prompt", "image_url", "duration"}), start_field="image_url")
    return ModelSpec(slug, "image", frozenset({"prompt", "aspect_ratio"}))


# Field names models use for identity reference images, most specific first. `image_url` is not among them: on
# image-to-video models it is the start frame, on edit models the picture being edited.
REFERENCE_FIELDS = ("reference_image_urls", "reference_images", "image_reference", "reference_image",
                    "reference_image_url", "image_urls", "input_images")


def reference_field(slug: str, schema: dict[str, Any] | None = None) -> tuple[str, bool] | None:
    """(field, takes a list) where this model takes reference images; None when it takes none. The model's
    published schema decides when given; otherwise what the spec table knows."""
    if schema and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        for name in REFERENCE_FIELDS:
            if name in props:
                prop = props[name] if isinstance(props[name], dict) else {}
                return name, prop.get("type") == "array" or "items" in prop
        return None
    spec = model_spec(slug)
    return (spec.reference_field, spec.reference_list) if spec.reference_field else None


def models_taking_references(kind: Literal["image", "clip"] | None = None) -> list[str]:
    """The known models that take reference images (for the pages' "identity rests on text alone" note)."""
    return [s.slug for s in MODEL_SPECS.values() if s.reference_field and (kind is None or s.kind == kind)]


def with_references(body: dict[str, Any], field: tuple[str, bool] | None, urls: list[str]) -> dict[str, Any]:
    """The body with the reference URLs under the model's field (a list, or the first URL for one-image fields);
    unchanged when the model takes none. For clips whose start frame shares the field, the start comes first."""
    if not field:
        return body
    name, as_list = field
    if not urls and not (as_list and isinstance(body.get(name), str)):
        return body
    out = dict(body)
    if as_list:
        existing = out.get(name)
        head = [existing] if isinstance(existing, str) else list(existing or [])
        out[name] = head + [u for u in urls if u not in head]
    elif name not in out:
        out[name] = urls[0]
    return out


# Field names image-to-video models use for the clip's last frame, and for its first, most specific first.
END_FRAME_FIELDS = ("last_frame_url", "tail_image_url", "end_image_url", "end_frame_url", "image_tail_url",
                    "last_image_url", "tail_image", "end_image")
START_FRAME_FIELDS = ("first_frame_url", "start_image_url", "start_frame_url", "image_url", "input_image_url",
                      "image")


def _properties(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    props = schema.get("properties") if schema else None
    return props if isinstance(props, dict) else None


def end_frame_field(slug: str, schema: dict[str, Any] | None = None) -> str | None:
    """Where the video model takes the clip's last frame; None when it takes only a start image. The model's
    published input schema decides when given; otherwise what the spec table knows (or guesses from the slug)."""
    props = _properties(schema)
    if props is not None:
        return next((name for name in END_FRAME_FIELDS if name in props), None)
    return model_spec(slug).end_field


def start_frame_field(slug: str, schema: dict[str, Any] | None = None) -> str:
    props = _properties(schema)
    if props is not None:
        found = next((name for name in START_FRAME_FIELDS if name in props), None)
        if found:
            return found
    return model_spec(slug).start_field or "image_url"


def clip_durations(slug: str, schema: dict[str, Any] | None = None) -> tuple[int, ...] | None:
    """The durations (s) the model accepts: its schema's `duration` enum, else the spec's; () when any integer
    will do; None when the model takes no duration at all (its clips have one fixed length)."""
    props = _properties(schema)
    if props is not None:
        prop = props.get("duration")
        if not isinstance(prop, dict):
            return None
        values = [v for v in prop.get("enum") or [] if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return tuple(sorted(int(v) for v in values))
    spec = model_spec(slug)
    return spec.durations if "duration" in spec.fields else None


def nearest_duration(seconds: float, allowed: tuple[int, ...], *, low: int = 1, high: int = 20) -> int:
    """The accepted duration nearest to `seconds` (a tie goes to the longer, so the narration fits); with no list,
    the whole second nearest, within `low`..`high`."""
    if not allowed:
        return max(low, min(high, int(seconds + 0.5)))
    return min(sorted(allowed), key=lambda d: (abs(d - seconds), -d))


def takes_end_frame(slug: str, schema: dict[str, Any] | None = None) -> bool:
    """Whether the video model accepts a last frame (so a clip can end on the shot's last image)."""
    return end_frame_field(slug, schema) is not None


def image_body(slug: str, *, prompt: str, aspect_ratio: str = "16:9", resolution: str | None = None) -> dict[str, Any]:
    """A text-to-image body with only the fields this model takes. `resolution` None = the model's default."""
    spec = model_spec(slug)
    body: dict[str, Any] = {"prompt": prompt}
    if "aspect_ratio" in spec.fields:
        body["aspect_ratio"] = aspect_ratio
    chosen = resolution or spec.default_resolution
    if "resolution" in spec.fields and chosen:
        body["resolution"] = chosen
    return body


def _fit_duration(duration: int, allowed: tuple[int, ...]) -> int:
    """The shortest allowed duration that is at least `duration` (else the longest): Kling takes only 5 or 10."""
    if not allowed:
        return duration
    longer = [d for d in sorted(allowed) if d >= duration]
    return longer[0] if longer else max(allowed)


def clip_body(slug: str, *, prompt: str, start_url: str, end_url: str | None = None, duration: int = 5,
              aspect_ratio: str = "16:9", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An image-to-video body: start (and, when the model takes one, end) image URLs under its field names —
    read from the model's published input `schema` when given, else from the spec table.

    `duration` is sent as an integer (the schemas reject "5"), snapped to the model's allowed values. An end
    image is dropped for models without an end-frame field; check `takes_end_frame` to know beforehand.
    """
    props = _properties(schema)
    spec = model_spec(slug)
    fields = set(props) if props is not None else spec.fields
    body: dict[str, Any] = {"prompt": prompt, start_frame_field(slug, schema): start_url}
    end_field = end_frame_field(slug, schema)
    if end_url and end_field:
        body[end_field] = end_url
    allowed = clip_durations(slug, schema)
    if "duration" in fields and allowed is not None:
        body["duration"] = _fit_duration(int(duration), allowed)
    if "aspect_ratio" in fields:
        body["aspect_ratio"] = aspect_ratio
    return body


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def _describe(error: jsonschema.ValidationError, schema: dict[str, Any]) -> str:
    where = _where(error)
    prefix = f"{where}: " if where else ""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema.get("properties") or {}).keys()) if isinstance(error.schema, dict) else set()
        unknown = sorted(k for k in error.instance if k not in allowed)
        names = ", ".join(repr(k) for k in unknown)
        accepted = ", ".join(sorted(allowed))
        return f"{prefix}unknown field {names}; this model accepts: {accepted}"
    if error.validator == "required":
        return f"{prefix}{error.message.replace(' is a required property', '')} is required but missing"
    if error.validator == "type":
        return f"{prefix}{error.instance!r} has the wrong type; the model wants {error.validator_value}"
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in error.validator_value)
        return f"{prefix}{error.instance!r} is not one of {options}"
    return f"{prefix}{error.message}"


def check_body(schema: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """Problems a producer can read when `body` does not fit the model's input schema; [] when it fits."""
    if not schema:
        return []
    try:
        validator_cls = jsonschema.validators.validator_for(schema)
        validator_cls.check_schema(schema)
    except SchemaError as exc:
        return [f"the model's published schema is unusable, so the body was not checked: {exc.message}"]
    validator = validator_cls(schema)
    errors = sorted(validator.iter_errors(body), key=lambda e: (_where(e), str(e.validator)))
    # A wrong type also fails enum/range checks on the same field ("'5' is not one of 5, 10"): say it once.
    mistyped = {_where(e) for e in errors if e.validator == "type"}
    kept = [e for e in errors if e.validator == "type" or _where(e) not in mistyped]
    return [_describe(err, schema) for err in kept]
