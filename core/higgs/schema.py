"""Request bodies per model, and checking a body against a model's published input schema before paying.

Field names differ by model (`image_url` vs `first_frame_url` / `last_frame_url`; which knobs exist at all):
this module is the one place that knows them. The model's own schema from `GET /models?include_schema=true`
stays the source of truth; `check_body` reports where a body disagrees with it.
"""

from __future__ import annotations

import math
import re
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


def model_spec(slug: str, kind: Literal["image", "clip"] | None = None) -> ModelSpec:
    """The known spec, or a guess from the slug's shape for models the table does not list yet. `kind` is what the
    caller knows the model renders (the configured video model renders clips whatever its slug says)."""
    known = MODEL_SPECS.get(slug)
    if known is not None:
        return known
    low = slug.lower()
    if "first-last" in low or "first_last" in low:
        return ModelSpec(slug, "clip", frozenset({"prompt", "first_frame_url", "last_frame_url", "duration"}),
                         start_field="first_frame_url", end_field="last_frame_url")
    if kind == "clip" or (kind is None and ("video" in low or "kling" in low)):
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


# Field names image-to-video models use for the clip's last frame, and for its first, most specific first. When a
# schema lists none of them, the field is found by the words in its name (`_guess_end_field`, `_guess_start_field`).
END_FRAME_FIELDS = ("last_frame_url", "tail_image_url", "end_image_url", "end_frame_url", "image_tail_url",
                    "last_image_url", "tail_frame_url", "last_frame_image", "end_frame_image", "tail_image",
                    "end_image", "last_frame", "end_frame", "image_tail", "last_image")
START_FRAME_FIELDS = ("first_frame_url", "start_image_url", "start_frame_url", "first_image_url", "first_frame_image",
                      "start_frame_image", "start_image", "first_frame", "start_frame", "image_url",
                      "input_image_url", "input_image", "image")
_END_WORDS = frozenset({"end", "last", "tail", "final", "ending"})
_PICTURE_WORDS = frozenset({"image", "img", "frame", "picture", "photo"})
_NOT_A_FRAME_WORDS = frozenset({"reference", "references", "ref", "refs", "mask", "negative", "style"})
DURATION_FIELDS = ("duration", "duration_seconds", "duration_s", "duration_sec", "video_duration",
                   "clip_duration", "seconds", "length_seconds", "video_length")
# Durations a model that names no bounds accepts: any whole second in this range (the offline renderer's too).
ANY_DURATION = (1, 20)


def _properties(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    props = schema.get("properties") if schema else None
    return props if isinstance(props, dict) else None


def _required(schema: dict[str, Any] | None) -> set[str]:
    names = schema.get("required") if schema else None
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def _words(name: str) -> set[str]:
    """The words of a field name: `lastFrameUrl` and `last_frame_url` both give {last, frame, url}."""
    return set(re.findall(r"[a-z]+|[0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()))


def _resolved(prop: Any, schema: dict[str, Any] | None, depth: int = 0) -> dict[str, Any]:
    """A property's schema with a local `$ref` followed and `anyOf` / `oneOf` / `allOf` alternatives merged (a
    nullable field's `null` branch left out), so an enum or a range is found wherever a generator put it."""
    if not isinstance(prop, dict) or depth > 6:  # a schema that refers to itself ends here
        return {}
    out: dict[str, Any] = {}
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and schema:
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        out.update(_resolved(target, schema, depth + 1))
    for key in ("allOf", "anyOf", "oneOf"):
        alts = prop.get(key)
        for alt in alts if isinstance(alts, list) else []:
            sub = _resolved(alt, schema, depth + 1)
            if sub.get("type") == "null":
                continue
            for name, value in sub.items():
                if name == "enum" and isinstance(out.get("enum"), list) and isinstance(value, list):
                    out["enum"] = out["enum"] + [v for v in value if v not in out["enum"]]
                else:
                    out.setdefault(name, value)
    out.update({k: v for k, v in prop.items() if k not in ("$ref", "allOf", "anyOf", "oneOf")})
    return out


def _one_url_field(name: str, prop: Any, schema: dict[str, Any] | None) -> bool:
    """Whether a property could hold one image URL (not a list of them, not a number or a switch)."""
    kind = _resolved(prop, schema).get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    return not kinds & {"array", "object", "integer", "number", "boolean"} and name not in REFERENCE_FIELDS


def _guess_end_field(props: dict[str, Any], schema: dict[str, Any] | None) -> str | None:
    for name, prop in props.items():
        words = _words(name)
        if words & _END_WORDS and words & _PICTURE_WORDS and not words & _NOT_A_FRAME_WORDS \
                and _one_url_field(name, prop, schema):
            return name
    return None


def _guess_start_field(props: dict[str, Any], schema: dict[str, Any] | None) -> str | None:
    """A field named for a first / start image, else a required image field, else any image field (never one
    that reads as the end frame or as identity references)."""
    required = _required(schema)
    candidates = [name for name, prop in props.items()
                  if (_words(name) & _PICTURE_WORDS) and not _words(name) & (_END_WORDS | _NOT_A_FRAME_WORDS)
                  and _one_url_field(name, prop, schema)]
    named_first = [n for n in candidates if _words(n) & {"first", "start", "initial", "begin"}]
    required_image = [n for n in candidates if n in required and "image" in n.lower()]
    any_required = [n for n in candidates if n in required]
    any_image = [n for n in candidates if "image" in n.lower()]
    for found in (named_first, required_image, any_required, any_image):
        if found:
            return found[0]
    return None


def end_frame_field(slug: str, schema: dict[str, Any] | None = None) -> str | None:
    """Where the video model takes the clip's last frame; None when it takes only a start image. The model's
    published input schema decides when given; otherwise what the spec table knows (or guesses from the slug)."""
    props = _properties(schema)
    if props is not None:
        known = next((name for name in END_FRAME_FIELDS if name in props), None)
        return known or _guess_end_field(props, schema)
    return model_spec(slug, "clip").end_field


def start_frame_field(slug: str, schema: dict[str, Any] | None = None) -> str:
    """Where the video model takes the clip's first frame: a known name in its published schema, else an image
    field found by its name (a required one first), else the spec table's."""
    props = _properties(schema)
    if props is not None:
        found = next((name for name in START_FRAME_FIELDS if name in props), None) or \
            _guess_start_field(props, schema)
        if found:
            return found
    return model_spec(slug, "clip").start_field or "image_url"


def duration_field(slug: str, schema: dict[str, Any] | None = None) -> str | None:
    """Where the video model takes the clip's length: `duration` (or a name such as `duration_seconds` in its
    published schema); None when it takes none."""
    props = _properties(schema)
    if props is None:
        return "duration" if "duration" in model_spec(slug, "clip").fields else None
    return next((name for name in DURATION_FIELDS if name in props), None)


def _duration_prop(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    props = _properties(schema)
    name = duration_field("", schema) if props is not None else None
    return _resolved(props[name], schema) if props is not None and name is not None else None


def _choices(prop: dict[str, Any]) -> list[Any] | None:
    """The values a property lists (`enum`, or a `const`); None when it lists none."""
    if isinstance(prop.get("enum"), list):
        return list(prop["enum"])
    return [prop["const"]] if "const" in prop else None


def _seconds_of(value: Any) -> int | None:
    """A duration choice as whole seconds: 5, 5.0, "5", "5s" → 5; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() and value > 0 else None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)(?:\.0+)?\s*(?:s|sec|secs|seconds?)?\s*", value.lower())
        return int(match.group(1)) if match and int(match.group(1)) > 0 else None
    return None


def _range_durations(prop: dict[str, Any]) -> tuple[int, ...]:
    """The whole seconds an integer / number duration with `minimum` / `maximum` (or their exclusive forms) and
    `multipleOf` allows; () when it names no bound (any second will do)."""
    def bound(name: str) -> float | None:
        value = prop.get(name)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    lo, hi = bound("minimum"), bound("maximum")
    xlo, xhi = bound("exclusiveMinimum"), bound("exclusiveMaximum")
    if prop.get("exclusiveMinimum") is True and lo is not None:  # draft 4: a flag on `minimum`
        lo, xlo = None, lo
    if prop.get("exclusiveMaximum") is True and hi is not None:
        hi, xhi = None, hi
    if lo is None and hi is None and xlo is None and xhi is None:
        return ()
    first = max(ANY_DURATION[0], math.ceil(lo) if lo is not None else 1,
                math.floor(xlo) + 1 if xlo is not None else 1)
    last_default = max(first, ANY_DURATION[1])
    last = min(math.floor(hi) if hi is not None else last_default,
               math.ceil(xhi) - 1 if xhi is not None else last_default)
    step = prop.get("multipleOf")
    step_i = int(step) if isinstance(step, (int, float)) and not isinstance(step, bool) and step >= 1 \
        and float(step).is_integer() else 1
    values = tuple(s for s in range(first, min(last, first + 3600) + 1) if s % step_i == 0)
    return values or (max(1, first),)


def clip_durations(slug: str, schema: dict[str, Any] | None = None) -> tuple[int, ...] | None:
    """The durations (s) the model accepts: its schema's `duration` choices (an enum of numbers or of strings such
    as "5"), or the whole seconds of its `minimum`..`maximum`; else the spec's. () when any whole second will do
    (`ANY_DURATION`); None when the model takes no duration at all (its clips have one fixed length)."""
    props = _properties(schema)
    if props is not None:
        prop = _duration_prop(schema)
        if prop is None:
            return None
        choices = _choices(prop)
        if choices is not None:
            return tuple(sorted({s for s in (_seconds_of(v) for v in choices) if s is not None}))
        return _range_durations(prop)
    spec = model_spec(slug, "clip")
    return spec.durations if "duration" in spec.fields else None


def nearest_duration(seconds: float, allowed: tuple[int, ...], *, low: int = ANY_DURATION[0],
                     high: int = ANY_DURATION[1]) -> int:
    """The accepted duration nearest to `seconds` (a tie goes to the longer, so the narration fits); with no list,
    the whole second nearest, within `low`..`high`. The one rule for the duration priced and the duration sent."""
    if not allowed:
        return max(low, min(high, int(seconds + 0.5)))
    return min(sorted(allowed), key=lambda d: (abs(d - seconds), -d))


def duration_value(seconds: int, schema: dict[str, Any] | None) -> int | str:
    """`seconds` as the model's schema wants it sent: the enum's own string ("5", "5s") when its choices are
    strings, a string for a string-typed field, else an integer."""
    prop = _duration_prop(schema)
    if prop is None:
        return int(seconds)
    for value in _choices(prop) or []:
        if _seconds_of(value) == seconds and not isinstance(value, bool):
            return value if isinstance(value, str) else int(seconds)
    kind = prop.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "string" in kinds and not kinds & {"integer", "number"}:
        return str(int(seconds))
    return int(seconds)


def takes_end_frame(slug: str, schema: dict[str, Any] | None = None) -> bool:
    """Whether the video model accepts a last frame (so a clip can end on the shot's last image)."""
    return end_frame_field(slug, schema) is not None


def image_body(slug: str, *, prompt: str, aspect_ratio: str = "16:9", resolution: str | None = None,
               schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A text-to-image body with only the fields this model takes: those of its published input `schema` when
    given, else the spec table's. `resolution` None = the model's default."""
    spec = model_spec(slug)
    props = _properties(schema)
    fields = set(props) if props is not None else spec.fields
    body: dict[str, Any] = {"prompt": prompt}
    if "aspect_ratio" in fields and _allows(props, schema, "aspect_ratio", aspect_ratio):
        body["aspect_ratio"] = aspect_ratio
    chosen = resolution or spec.default_resolution
    if "resolution" in fields and chosen and _allows(props, schema, "resolution", chosen):
        body["resolution"] = chosen
    return _with_required_defaults(body, schema)


def _allows(props: dict[str, Any] | None, schema: dict[str, Any] | None, name: str, value: Any) -> bool:
    """Whether the schema's field takes `value` (any value when it lists no choices, or without a schema)."""
    if props is None:
        return True
    choices = _resolved(props.get(name), schema).get("enum")
    return not isinstance(choices, list) or value in choices


def _with_required_defaults(body: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Required fields we do not fill ourselves, given their published `default` (what the model would use)."""
    props = _properties(schema)
    if props is None:
        return body
    for name in sorted(_required(schema)):
        if name not in body:
            prop = _resolved(props.get(name), schema)
            if "default" in prop:
                body[name] = prop["default"]
    return body


def clip_body(slug: str, *, prompt: str, start_url: str, end_url: str | None = None, duration: int = 5,
              aspect_ratio: str = "16:9", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An image-to-video body: start (and, when the model takes one, end) image URLs under its field names —
    read from the model's published input `schema` when given, else from the spec table.

    `duration` (under the schema's own name for it) is snapped to the nearest value the model accepts (`nearest_duration`, the rule the price uses)
    and sent as the schema types it: an integer (the schemas reject "5" for an integer), or the enum's own string
    when its choices are strings. An end image is dropped for models without an end-frame field; check
    `takes_end_frame` to know beforehand.
    """
    props = _properties(schema)
    spec = model_spec(slug, "clip")
    fields = set(props) if props is not None else spec.fields
    body: dict[str, Any] = {"prompt": prompt, start_frame_field(slug, schema): start_url}
    end_field = end_frame_field(slug, schema)
    if end_field and (end_url or end_field in _required(schema)):
        body[end_field] = end_url or start_url  # a model that insists on a last frame: a one-frame shot's own
    allowed = clip_durations(slug, schema)
    length_field = duration_field(slug, schema)
    if length_field and allowed is not None:
        body[length_field] = duration_value(nearest_duration(float(duration), allowed), schema)
    if "aspect_ratio" in fields and _allows(props, schema, "aspect_ratio", aspect_ratio):
        body["aspect_ratio"] = aspect_ratio
    return _with_required_defaults(body, schema)


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
