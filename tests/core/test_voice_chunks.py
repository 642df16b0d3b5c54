"""Long narration: cut at sentence ends into pieces the speech endpoint takes, voiced as one take."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.assets import AssetStore
from core.render.providers import RenderSpec
from core.voice import audio
from core.voice.render import VoiceRenderProvider
from core.voice.chunks import speech_chunks
from core.voice.providers import OPENAI_MAX_CHARS, OpenAIVoice
from tests.fakes.openai_server import FakeOpenAIServer, speech_seconds

ARABIC = "في هذا الدرس نتعرف على أساسيات جداول البيانات خطوة بخطوة."
ENGLISH = "Then we open Excel and sort the table by date."


def _squeezed(text: str) -> str:
    return "".join(text.split())


@given(st.lists(st.sampled_from([ARABIC, ENGLISH, "نعم؟", "x" * 70, "word " * 30]), min_size=1, max_size=60),
       st.integers(min_value=20, max_value=400))
@settings(max_examples=200, deadline=None)
def test_pieces_fit_the_limit_and_lose_nothing(sentences: list[str], limit: int) -> None:
    text = " ".join(sentences)
    pieces = speech_chunks(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert _squeezed("".join(pieces)) == _squeezed(text)  # in order, nothing lost but the spaces at the cuts


def test_cuts_fall_at_sentence_ends_when_sentences_fit() -> None:
    text = " ".join([ARABIC, ENGLISH] * 40)
    pieces = speech_chunks(text, 500)
    assert len(pieces) > 1
    assert all(p.endswith(".") for p in pieces)  # no sentence is cut in two
    assert speech_chunks("  short.  ", 500) == ["short."] and speech_chunks("   ", 10) == []


def test_long_narration_is_voiced_in_pieces_as_one_take(tmp_path: Path) -> None:
    text = " ".join([ARABIC, ENGLISH] * 90)  # about 9,500 characters: over twice what one request takes
    assert len(text) > 2 * OPENAI_MAX_CHARS
    with FakeOpenAIServer() as server:
        voice = OpenAIVoice(api_key="sk-test-voice-key", base_url=server.base_url, model="gpt-4o-mini-tts",
                            default_voice="alloy", timeout_s=5)
        provider = VoiceRenderProvider("voice-openai", AssetStore(tmp_path), voice, max_bytes=10**9)
        spec = RenderSpec(job_id=1, kind="voice", model=voice.model, prompt=text, params={"voice": "nova"})
        submitted = provider.submit(spec, "job-abc")
        raw = provider.fetch(spec, provider.poll(submitted.request_id, None)).data
        sent = [r for r in server.requests if r.path.endswith("/audio/speech")]
    inputs = [r.body["input"] for r in sent]
    assert len(sent) == 3 and all(len(i) <= OPENAI_MAX_CHARS for i in inputs)
    assert _squeezed("".join(inputs)) == _squeezed(text)
    assert [r.headers.get("idempotency-key") for r in sent] == ["job-abc-1", "job-abc-2", "job-abc-3"]
    take = audio.prepare(raw, characters=len(text), speed=1.0, max_bytes=10**9)
    assert take.duration_s == pytest.approx(sum(speech_seconds(i) for i in inputs), abs=0.05)


def test_a_short_narration_is_one_request_with_the_jobs_key() -> None:
    with FakeOpenAIServer() as server:
        voice = OpenAIVoice(api_key="sk-test-voice-key", base_url=server.base_url, model="gpt-4o-mini-tts",
                            default_voice="alloy", timeout_s=5)
        voice.synthesize(ENGLISH, voice="nova", speed=1.0, idempotency_key="job-1")
    assert [r.headers.get("idempotency-key") for r in server.requests] == ["job-1"]
