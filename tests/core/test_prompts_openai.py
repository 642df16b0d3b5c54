"""The OpenAI refiner over real HTTP against the local fake server: success, retries, fallbacks, failures."""

from __future__ import annotations

import json
import logging
import time
from typing import Iterator

import pytest

from core.errors import ProviderError, ValidationError
from core.prompts.offline import OfflineRefiner
from core.prompts.openai_refiner import OpenAIRefiner, RetryPolicy, parse_retry_after
from core.prompts.providers import make_refiner
from core.prompts.types import RefineRequest, StyleBibleData
from tests.conftest import make_test_settings
from tests.fakes.openai_server import FakeOpenAIServer, Reply


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A fresh local OpenAI-compatible server per test, stopped afterwards."""
    with FakeOpenAIServer() as server:
        yield server

KEY = "sk-test-SECRET-0123456789"
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
REQ = RefineRequest(
    scene_text="يدخل المعلم إلى الفصل ويحيي الطلاب",
    video_title="الدرس الأول",
    shot_summary="المعلم في الفصل",
    frame_position=1,
    frame_count=3,
    next_scene_text="يكتب المعلم على السبورة",
    style=StyleBibleData(visual_style="watercolour illustration", characters="a bearded teacher in a grey jacket"),
)


def refiner_for(server: FakeOpenAIServer, *, timeout_s: float = 2.0, retry: RetryPolicy = FAST) -> OpenAIRefiner:
    return OpenAIRefiner(api_key=KEY, model="gpt-test", base_url=server.base_url, timeout_s=timeout_s, retry=retry)


def test_structured_reply_is_parsed_and_request_carries_context(openai_server: FakeOpenAIServer) -> None:
    result = refiner_for(openai_server).refine(REQ)

    assert "يدخل المعلم" in result.prompt and result.shot_size and result.camera and result.lighting
    (sent,) = openai_server.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "gpt-test"
    fmt = sent.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert set(fmt["json_schema"]["schema"]["required"]) >= {"prompt", "negative_prompt", "shot_size"}
    system, user = sent.body["messages"]
    assert "no on-screen text" in system["content"] and "lettering" in system["content"]
    assert "Arabic" in system["content"]
    for expected in ("watercolour illustration", "a bearded teacher in a grey jacket", "الدرس الأول",
                     "يكتب المعلم على السبورة", "role: first"):
        assert expected in user["content"]


def test_prompts_differ_by_input(openai_server: FakeOpenAIServer) -> None:
    refiner = refiner_for(openai_server)
    other = REQ.model_copy(update={"scene_text": "نرى خريطة قديمة للمدينة"})
    assert refiner.refine(REQ).prompt != refiner.refine(other).prompt


def test_rate_limit_honours_retry_after_seconds(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply("rate_limit", retry_after="1"))
    started = time.perf_counter()
    result = refiner_for(openai_server).refine(REQ)
    elapsed = time.perf_counter() - started
    assert result.prompt
    assert [r.answered_with for r in openai_server.requests] == ["rate_limit", "ok"]
    assert elapsed >= 0.95, "the client must wait what Retry-After asks, not its own tiny backoff"


def test_rate_limit_honours_retry_after_ms(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply("rate_limit", retry_after_ms=300), Reply("rate_limit", retry_after_ms=300))
    started = time.perf_counter()
    refiner_for(openai_server).refine(REQ)
    assert time.perf_counter() - started >= 0.55
    assert len(openai_server.requests) == 3


def test_server_errors_are_retried_then_succeed(openai_server: FakeOpenAIServer) -> None:
    openai_server.script("server_error", "server_error")
    assert refiner_for(openai_server).refine(REQ).prompt
    assert [r.answered_with for r in openai_server.requests] == ["server_error", "server_error", "ok"]


def test_last_attempt_gives_a_clear_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(*["server_error"] * 5)
    with pytest.raises(ProviderError) as info:
        refiner_for(openai_server).refine(REQ)
    assert "500" in str(info.value) and "gave up after 3 attempts" in str(info.value)
    assert info.value.retryable
    assert len(openai_server.requests) == 3


def test_slow_reply_past_timeout_is_retried_then_fails(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(*[Reply("slow", delay=1.0)] * 2)
    refiner = refiner_for(openai_server, timeout_s=0.25, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(ProviderError) as info:
        refiner.refine(REQ)
    assert info.value.category == "timeout"
    assert "did not answer within 0.25 s" in str(info.value)


def test_one_slow_reply_then_success(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply("slow", delay=1.0))
    assert refiner_for(openai_server, timeout_s=0.25).refine(REQ).prompt
    assert len(openai_server.requests) == 2


@pytest.mark.parametrize(
    ("kind", "category", "words"),
    [
        ("malformed", "invalid_reply", "not valid JSON"),
        ("invalid", "invalid_reply", "does not fit the prompt format"),
        ("refusal", "refused", "refused"),
    ],
)
def test_bad_replies_are_errors_not_retried(openai_server: FakeOpenAIServer, kind: str, category: str,
                                            words: str) -> None:
    openai_server.script(kind)
    with pytest.raises(ProviderError) as info:
        refiner_for(openai_server).refine(REQ)
    assert info.value.category == category and words in str(info.value)
    assert not info.value.retryable
    assert len(openai_server.requests) == 1, "a reply that does not validate is not worth paying for again"


def test_server_without_structured_output_falls_back_to_json_mode(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_reject_json_schema(True)
    refiner = refiner_for(openai_server)
    first = refiner.refine(REQ)
    second = refiner.refine(REQ.model_copy(update={"scene_text": "مشهد آخر"}))
    assert first.prompt and second.prompt and not refiner.uses_structured_output
    formats = [r.body["response_format"]["type"] for r in openai_server.requests]
    assert formats == ["json_schema", "json_object", "json_object"], "the fallback is remembered"
    assert "JSON" in openai_server.requests[1].body["messages"][0]["content"]


def test_json_mode_reply_that_does_not_validate_is_an_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_reject_json_schema(True)
    openai_server.script("ok", "invalid")  # the json_schema attempt is rejected first, then JSON mode is invalid
    with pytest.raises(ProviderError, match="does not fit the prompt format"):
        refiner_for(openai_server).refine(REQ)


def test_unreachable_server_is_a_retryable_error() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    refiner = OpenAIRefiner(api_key=KEY, model="m", base_url=url, timeout_s=1,
                            retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(ProviderError) as info:
        refiner.refine(REQ)
    assert info.value.category == "unreachable" and info.value.retryable


def test_api_key_never_in_logs_errors_or_repr(openai_server: FakeOpenAIServer,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refiner = refiner_for(openai_server, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    refiner.refine(REQ)
    openai_server.script("server_error", "server_error")
    with pytest.raises(ProviderError) as info:
        refiner.refine(REQ)
    assert KEY not in caplog.text and KEY not in str(info.value) and KEY not in repr(refiner)
    # The key went where it belongs, and only there: the Authorization header, never the body.
    for request in openai_server.requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert KEY not in json.dumps(request.body, ensure_ascii=False)


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert parse_retry_after({}) is None


def test_make_refiner_defaults_and_errors(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    assert isinstance(make_refiner(make_test_settings(base)), OfflineRefiner)
    with_key = make_test_settings(base, openai_api_key=KEY, openai_base_url="http://127.0.0.1:9/v1")
    chosen = make_refiner(with_key)
    assert isinstance(chosen, OpenAIRefiner) and chosen.base_url == "http://127.0.0.1:9/v1"
    assert isinstance(make_refiner(with_key, "offline"), OfflineRefiner)
    with pytest.raises(ValidationError, match="OPENAI_API_KEY"):
        make_refiner(make_test_settings(base), "openai")
    with pytest.raises(ValidationError, match="Unknown refiner"):
        make_refiner(make_test_settings(base), "midjourney")
