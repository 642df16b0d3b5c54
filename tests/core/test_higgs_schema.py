"""Per-model bodies, schema checks before paying, price estimates, and reading every status shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import catalog
from core.errors import ProviderError
from core.higgs import (
    HiggsClient,
    HiggsRejectedError,
    PollSchedule,
    check_body,
    client_from_settings,
    clip_body,
    image_body,
    parse_status,
    takes_end_frame,
)
from core.higgs.errors import format_detail, parse_retry_after
from core.higgs.schema import clip_durations, end_frame_field, start_frame_field
from core.settings import load_settings
from tests.fakes.higgs_server import FakeHiggsServer

SOUL = "higgsfield-ai/soul/standard"
SEEDREAM = "bytedance/seedream/v4/text-to-image"
FLUX = "flux-pro/kontext/max/text-to-image"
KLING21 = "kling-video/v2.1/pro/image-to-video"
KLING26 = "kling-video/v2.6/pro/image-to-video"
OMNI = "kling-video/omni/first-last-frame"
START, END = "https://cdn.example/start.png", "https://cdn.example/end.png"


@pytest.fixture
def server() -> Iterator[FakeHiggsServer]:
    with FakeHiggsServer(latency_s=0.1) as srv:
        yield srv


@pytest.fixture
def client(server: FakeHiggsServer) -> Iterator[HiggsClient]:
    with HiggsClient(**server.client_kwargs(), timeout_s=2.0, backoff_base_s=0.01) as c:
        yield c


# ---- bodies -----------------------------------------------------------------------------------------
def test_every_model_body_fits_its_published_schema(client: HiggsClient) -> None:
    schemas = client.models()
    assert {SOUL, SEEDREAM, FLUX, KLING21, KLING26, OMNI} <= set(schemas)
    for slug, schema in schemas.items():
        if takes_end_frame(slug) or "video" in slug:
            body = clip_body(slug, prompt="push in", start_url=START, end_url=END, duration=5)
        else:
            body = image_body(slug, prompt="a courtyard at noon", aspect_ratio="16:9")
        assert check_body(schema, body) == [], slug


def test_reference_image_fields_differ_per_model() -> None:
    assert clip_body(KLING21, prompt="p", start_url=START, end_url=END) == {"prompt": "p", "image_url": START}
    omni = clip_body(OMNI, prompt="p", start_url=START, end_url=END, duration=5)
    assert omni["first_frame_url"] == START and omni["last_frame_url"] == END and omni["duration"] == 5
    assert "last_frame_url" not in clip_body(OMNI, prompt="p", start_url=START)
    assert takes_end_frame(OMNI) and not takes_end_frame(KLING21) and not takes_end_frame(KLING26)
    assert takes_end_frame("some-vendor/first-last-frame/v9")  # unknown slugs: guessed from the name


def test_duration_is_an_integer_snapped_to_what_kling_takes() -> None:
    # The nearest accepted length, the rule the price uses too (a tie goes to the longer).
    assert clip_body(KLING26, prompt="p", start_url=START, duration=7)["duration"] == 5
    assert clip_body(KLING26, prompt="p", start_url=START, duration=8)["duration"] == 10
    assert clip_body(KLING26, prompt="p", start_url=START, duration=3)["duration"] == 5
    assert clip_body(KLING26, prompt="p", start_url=START, duration=20)["duration"] == 10


def test_image_bodies_carry_only_fields_the_model_takes() -> None:
    assert image_body(SOUL, prompt="x") == {"prompt": "x", "aspect_ratio": "16:9", "resolution": "720p"}
    assert image_body(SEEDREAM, prompt="x")["resolution"] == "2K"
    assert "resolution" not in image_body(FLUX, prompt="x", resolution="1080p")


def _clip_schema(**props: Any) -> dict[str, Any]:
    return {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}, **props}}


URL = {"type": "string", "format": "uri"}


@pytest.mark.parametrize(("props", "start", "end"), [
    ({"start_image": URL, "end_image": URL}, "start_image", "end_image"),
    ({"first_frame_image": URL, "last_frame_image": URL}, "first_frame_image", "last_frame_image"),
    ({"image": URL}, "image", None),
    ({"init_image_url": URL, "reference_image_urls": {"type": "array", "items": URL}}, "init_image_url", None),
    ({"lastFrameUrl": URL, "firstFrameUrl": URL}, "firstFrameUrl", "lastFrameUrl"),  # by the words of the name
    ({"source_picture": URL, "tail_frame": URL}, "source_picture", "tail_frame"),
])
def test_start_and_end_fields_are_found_in_schemas_with_unfamiliar_names(props: dict[str, Any], start: str,
                                                                         end: str | None) -> None:
    schema = _clip_schema(**props)
    schema["required"] = ["prompt", start]
    assert start_frame_field("vendor/new-motion", schema) == start
    assert end_frame_field("vendor/new-motion", schema) == end
    body = clip_body("vendor/new-motion", prompt="p", start_url=START, end_url=END, schema=schema)
    assert body[start] == START and (end is None or body[end] == END) and check_body(schema, body) == []


def test_durations_read_enums_of_strings_ranges_refs_and_nullable_fields() -> None:
    assert clip_durations("m", _clip_schema(duration={"type": "string", "enum": ["5", "10"]})) == (5, 10)
    assert clip_durations("m", _clip_schema(duration={"type": "string", "enum": ["5s", "10s"]})) == (5, 10)
    assert clip_durations("m", _clip_schema(duration={"type": "integer", "minimum": 3, "maximum": 6})) == \
        (3, 4, 5, 6)
    assert clip_durations("m", _clip_schema(duration={"type": "number", "exclusiveMinimum": 2,
                                                      "exclusiveMaximum": 6})) == (3, 4, 5)
    assert clip_durations("m", _clip_schema(duration={"type": "integer", "minimum": 2, "maximum": 12,
                                                      "multipleOf": 2})) == (2, 4, 6, 8, 10, 12)
    assert clip_durations("m", _clip_schema(duration={"type": "integer"})) == ()  # any whole second
    assert clip_durations("m", _clip_schema()) is None  # no duration: one fixed length
    by_ref = {**_clip_schema(duration={"$ref": "#/$defs/Duration"}),
              "$defs": {"Duration": {"type": "string", "enum": ["6", "12"]}}}
    nullable = _clip_schema(duration={"anyOf": [{"type": "integer", "enum": [4, 8]}, {"type": "null"}]})
    assert clip_durations("m", by_ref) == (6, 12) and clip_durations("m", nullable) == (4, 8)
    assert clip_body("m", prompt="p", start_url=START, duration=11, schema=by_ref)["duration"] == "12"


def test_the_duration_is_sent_as_the_schema_types_it_and_as_it_is_priced() -> None:
    ranged = _clip_schema(image_url=URL, duration={"type": "integer", "minimum": 2, "maximum": 12})
    strings = _clip_schema(image_url=URL, duration={"type": "string", "enum": ["5", "10"]})
    for schema, seconds, sent in ((ranged, 18.4, 12), (ranged, 0.4, 2), (ranged, 7.4, 7), (strings, 7.4, "5"),
                                  (strings, 7.5, "10"), (strings, 30, "10")):
        priced = catalog.capabilities("higgs", "vendor/new-motion", kind="clip", schema=schema).fit_duration(seconds)
        body = clip_body("vendor/new-motion", prompt="p", start_url=START, duration=priced or 5, schema=schema)
        assert body["duration"] == sent and type(body["duration"]) is type(sent), (seconds, body)
        assert priced == int(sent) and check_body(schema, body) == []


def test_a_duration_under_another_name_and_a_required_end_frame() -> None:
    schema = _clip_schema(start_image_url=URL, end_image_url=URL,
                          duration_seconds={"type": "integer", "enum": [6, 12]})
    schema["required"] = ["prompt", "start_image_url", "end_image_url"]
    body = clip_body("vendor/new-motion", prompt="p", start_url=START, duration=10, schema=schema)
    assert body == {"prompt": "p", "start_image_url": START, "end_image_url": START, "duration_seconds": 12}
    assert clip_durations("vendor/new-motion", schema) == (6, 12) and check_body(schema, body) == []


def test_model_lists_name_their_schemas_in_several_ways() -> None:
    import httpx

    schema = {"type": "object", "properties": {"prompt": {"type": "string"}}}
    reply = {"data": [{"id": "a/one", "inputSchema": schema}, {"model": "a/two", "schema": json.dumps(schema)},
                      {"slug": "a/three"}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=reply))
    with HiggsClient(base_url="https://api.test", key_id="k", key_secret="s", transport=transport) as c:
        assert c.models() == {"a/one": schema, "a/two": schema, "a/three": {}}


def test_bodies_follow_the_schema_for_knobs_and_required_defaults() -> None:
    schema = {"type": "object", "required": ["prompt", "mode"], "additionalProperties": False,
              "properties": {"prompt": {"type": "string"}, "mode": {"type": "string", "default": "std"},
                             "aspect_ratio": {"type": "string", "enum": ["1:1"]}}}
    assert image_body("vendor/new-image", prompt="x", aspect_ratio="16:9", schema=schema) == \
        {"prompt": "x", "mode": "std"}  # 16:9 is not among its choices: left to the model's default
    assert check_body(schema, image_body("vendor/new-image", prompt="x", schema=schema)) == []


# ---- schema checks ----------------------------------------------------------------------------------
def test_check_body_catches_a_string_duration_and_an_unknown_field(client: HiggsClient) -> None:
    schema = client.models()[KLING26]
    body = {**clip_body(KLING26, prompt="p", start_url=START), "duration": "5", "negative_prompt": "blur"}
    problems = check_body(schema, body)
    assert len(problems) == 2
    assert any(p.startswith("duration: '5' has the wrong type") and "integer" in p for p in problems)
    assert any("unknown field 'negative_prompt'" in p and "image_url" in p for p in problems)


def test_check_body_reports_a_missing_field_and_a_bad_choice(client: HiggsClient) -> None:
    problems = check_body(client.models()[OMNI], {"first_frame_url": START, "mode": "turbo"})
    assert "'prompt' is required but missing" in problems
    assert any(p.startswith("mode: 'turbo' is not one of") for p in problems)


def test_the_server_rejects_what_check_body_catches_without_charging(server: FakeHiggsServer,
                                                                     client: HiggsClient) -> None:
    body = {**clip_body(KLING26, prompt="p", start_url=START), "duration": "5"}
    with pytest.raises(HiggsRejectedError, match="duration") as info:
        client.submit(KLING26, body, idempotency_key="bad-body")
    assert info.value.status_code == 422 and server.created_requests == 0


def test_an_empty_or_broken_schema_is_not_a_body_problem() -> None:
    assert check_body({}, {"anything": 1}) == []
    assert "unusable" in check_body({"type": "no-such-type"}, {})[0]


def test_a_retired_slug_disappears_from_the_model_list(server: FakeHiggsServer, client: HiggsClient) -> None:
    server.retire(KLING21)
    assert KLING21 not in client.models() and KLING26 in client.models()


# ---- estimates --------------------------------------------------------------------------------------
def test_estimate_numbers_and_descriptions(client: HiggsClient) -> None:
    price = client.estimate(SOUL, image_body(SOUL, prompt="x"))
    assert price is not None and (price.credits, price.usd) == (1.5, 0.094)
    long_clip = client.estimate(KLING26, clip_body(KLING26, prompt="p", start_url=START, duration=10))
    assert long_clip is not None and long_clip.credits == 50  # the body is priced, not just the model
    described = client.estimate(OMNI, clip_body(OMNI, prompt="p", start_url=START))
    assert described is not None and described.credits is None and described.usd is None
    assert described.note and "per second" in described.note


def test_no_estimate_for_a_model_the_host_does_not_price(server: FakeHiggsServer, client: HiggsClient) -> None:
    server.retire(FLUX)
    assert client.estimate(FLUX, {"prompt": "x"}) is None


# ---- status shapes and small pure pieces ------------------------------------------------------------
def test_parse_status_reads_every_shape() -> None:
    img = parse_status({"status": "completed", "images": [{"url": "u1"}, {"url": "u2"}],
                        "expires_at": "2026-01-01T00:00:00Z"}, request_id="r")
    assert img.urls == ("u1", "u2") and img.is_terminal and img.expires_at
    vid = parse_status({"status": "completed", "video": {"url": "v.mp4"}}, request_id="r")
    assert vid.video_url == "v.mp4" and vid.urls == ("v.mp4",)
    v1 = parse_status({"jobs": [{"status": "completed", "results": {"raw": {"url": "https://x/o.mp4"}}}]},
                      request_id="r")
    assert v1.status == "completed" and v1.video_url == "https://x/o.mp4"
    failed = parse_status({"status": "failed", "error": {"message": "model crashed"}}, request_id="r")
    assert failed.error == "model crashed" and failed.is_terminal
    odd = parse_status({"status": "Warming_Up"}, request_id="r")
    assert odd.status == "warming_up" and not odd.is_terminal


def test_poll_schedule_grows_to_the_cap_and_jitter_only_adds() -> None:
    plain = PollSchedule(jitter=0).delays()
    assert [round(next(plain), 2) for _ in range(7)] == [2.0, 3.0, 4.5, 6.75, 10.0, 10.0, 10.0]
    jittered = PollSchedule(jitter=0.1).delays()
    first = [next(jittered) for _ in range(50)]
    assert 2.0 <= first[0] <= 2.2 and all(10.0 <= d <= 11.0 for d in first[5:])


def test_error_details_and_retry_after_are_read_in_every_form() -> None:
    assert format_detail([{"loc": ["body", "duration"], "msg": "must be integer"}, "also this"]) == \
        "duration: must be integer; also this"
    assert format_detail({"code": "account_queue_full", "message": "Queue is full"}) == "Queue is full"
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412480.0) == pytest.approx(5.0)
    assert parse_retry_after("soon") is None


def test_client_from_settings_uses_hf_key_or_refuses(tmp_path: Path, server: FakeHiggsServer) -> None:
    key_id, secret = server.credentials
    settings = load_settings({}, secrets_file=tmp_path / "none.toml", hf_key=f"{key_id}:{secret}",
                             higgs_base_url=server.base_url)
    with client_from_settings(settings) as c:
        assert SOUL in c.models()
    with pytest.raises(ProviderError, match="No Higgs credentials"):
        client_from_settings(load_settings({}, secrets_file=tmp_path / "none.toml"))
