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


def takes_end_frame(slug: str) -> bool:
    """Whether the video model accepts a last frame (so a clip can end on the shot's last image)."""
    return model_spec(slug).end_field is not None


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
              aspect_ratio: str = "16:9") -> dict[str, Any]:
    """An image-to-video body: start (and, when the model takes one, end) image URLs under its field names.

    `duration` is sent as an integer (the schemas reject "5"), snapped to the model's allowed values. An end
    image is dropped for models without an end-frame field; check `takes_end_frame` to know beforehand.
    """
    spec = model_spec(slug)
    body: dict[str, Any] = {"prompt": prompt, spec.start_field or "image_url": start_url}
    if end_url and spec.end_field:
        body[spec.end_field] = end_url
    if "duration" in spec.fields:
        body["duration"] = _fit_duration(int(duration), spec.durations)
    if "aspect_ratio" in spec.fields:
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
