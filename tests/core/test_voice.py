"""Voice-over: the lexicon, the offline voice (espeak-ng), the OpenAI voice over real HTTP, audio checks and
loudness, and voice jobs in the queue (takes, staleness, reuse, the budget, errors) on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import shutil
import wave

import numpy as np
import pytest
from sqlalchemy import func, select

from core import cost
from core.board import load_current_board
from core.errors import GateError, ProviderError, StudioError, ValidationError
from core.jobs.takes import list_takes, select_take
from core.jobs.voice import estimate_voices, request_voice, request_voices
from core.models import Asset, Job, Shot, SourceFile
from core.render.media import MediaError
from core.runtime import Runtime
from core.voice import audio
from core.voice.lexicon import apply_lexicon, parse_lexicon
from core.voice.providers import OPENAI_MAX_CHARS, EspeakVoice, OpenAIVoice
from core.voice.style import update_voice_style
from tests.core.voice_factory import openai_settings, voice_worker, voiced_board
from tests.fakes.openai_server import FakeOpenAIServer, Reply, speech_seconds, speech_wav

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None and not os.environ.get("CI"),
                                  reason="espeak-ng is not installed (scripts/test-services.sh installs it)")


# ---- lexicon ------------------------------------------------------------------------------------------------

def test_lexicon_replaces_whole_words_longest_first_in_arabic_and_english() -> None:
    lexicon = {"Excel": "إكسل", "Power BI": "باور بي آي", "BI": "بي آي", "AI": "إيه آي"}
    text = "افتح excel ثم Power BI، وليس EMAIL ولا MAIL. الذكاء AI."
    assert apply_lexicon(text, lexicon) == "افتح إكسل ثم باور بي آي، وليس EMAIL ولا MAIL. الذكاء إيه آي."
    # A spoken form is not rewritten again by another entry.
    assert apply_lexicon("BI", {"BI": "AI", "AI": "x"}) == "AI"


def test_lexicon_keeps_arabic_marks_inside_their_word() -> None:
    lexicon = {"قسم": "قِسْم"}
    # A fatha or a shadda is part of the word: the entry does not rewrite the start of a longer word ...
    assert apply_lexicon("قسمَين", lexicon) == "قسمَين"
    assert apply_lexicon("قسمّين", lexicon) == "قسمّين"
    # ... while the word itself, bare or with its case ending, is still the entry.
    assert apply_lexicon("هذا القسم وهذا قسم، ثم قسمُ", lexicon) == "هذا القسم وهذا قِسْم، ثم قِسْمُ"


def test_lexicon_matches_after_arabic_proclitics_and_keeps_them() -> None:
    lexicon = {"البيانات": "البَيانات", "Excel": "إكسل", "جدول": "جَدْوَل"}
    assert apply_lexicon("والبيانات فالبيانات بالبيانات", lexicon) == "والبَيانات فالبَيانات بالبَيانات"
    assert apply_lexicon("افتح وExcel ثم كExcel", lexicon) == "افتح وإكسل ثم كإكسل"
    # An entry without an article also matches after a proclitic and "ال".
    assert apply_lexicon("وجدول والجدول بالجدول", lexicon) == "وجَدْوَل والجَدْوَل بالجَدْوَل"
    # A whole word is not read as a proclitic and a shorter entry, nor a two-letter entry inside a word.
    assert apply_lexicon("كتاب", {"كتاب": "A", "تاب": "B"}) == "A"
    assert apply_lexicon("بحر", {"حر": "X"}) == "بحر"
    assert apply_lexicon("وExcels", lexicon) == "وExcels"


def test_lexicon_text_box_reports_the_bad_line() -> None:
    assert parse_lexicon("# terms\nExcel = إكسل\n\nSQL = سيكول\n") == {"Excel": "إكسل", "SQL": "سيكول"}
    with pytest.raises(ValidationError, match="line 2"):
        parse_lexicon("Excel = إكسل\nSQL سيكول")
    with pytest.raises(ValidationError, match="already"):
        parse_lexicon("Excel = a\nexcel = b")
    with pytest.raises(ValidationError, match="no spoken form"):
        parse_lexicon("Excel =")


# ---- audio checks and loudness ------------------------------------------------------------------------------

def _tone(seconds: float, amplitude: float) -> bytes:
    t = np.arange(int(seconds * 22050)) / 22050
    pcm = (amplitude * 32767 * np.sin(2 * np.pi * 200 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def test_takes_are_brought_to_one_loudness_whatever_the_voice_level() -> None:
    quiet = audio.prepare(_tone(2.0, 0.02), characters=30, speed=1.0, max_bytes=10**7)
    loud = audio.prepare(_tone(2.0, 0.9), characters=30, speed=1.0, max_bytes=10**7)
    levels = [audio.dbfs(audio.voiced(audio.decode(t.wav))) for t in (quiet, loud)]
    assert levels[0] == pytest.approx(audio.TARGET_DBFS, abs=0.5)
    assert levels[1] == pytest.approx(levels[0], abs=0.5)
    assert quiet.duration_s == pytest.approx(2.0, abs=0.01)  # a gain, never a change of timing
    assert quiet.info.content_type == "audio/wav"


@pytest.mark.parametrize(("data", "message"), [
    (b"<html><body>502 Bad Gateway</body></html>", "web page"),
    (b"RIFF\x10\x00\x00\x00WAVEnot really audio", "damaged|no sound"),
    (_tone(2.0, 0.0), "silence"),
    (_tone(30.0, 0.5), "expected"),  # 30 s for 30 characters: not this text
    (b"", "empty"),
])
def test_audio_that_is_not_speech_of_the_text_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        audio.prepare(data, characters=30, speed=1.0, max_bytes=10**7)


# ---- the offline voice --------------------------------------------------------------------------------------

@needs_espeak
@pytest.mark.parametrize("short, long", [
    ("مرحباً بكم.", "مرحباً بكم في درس اليوم، نتعلم فيه كيف نرتب البيانات في جدول ثم نرسم منها شكلاً بيانياً."),
    ("Hello there.", "Hello there, and welcome to today's lesson on sorting data in a table and charting it."),
])
def test_offline_voice_speaks_arabic_and_english_audibly_and_longer_text_takes_longer(short: str, long: str) -> None:
    voice = EspeakVoice()
    takes = [audio.prepare(voice.synthesize(t, voice="auto", speed=1.0), characters=len(t), speed=1.0,
                           max_bytes=10**8) for t in (short, long)]
    for take in takes:
        speech = audio.voiced(audio.decode(take.wav))
        assert speech.size / audio.SAMPLE_RATE > 0.3  # audible speech, not silence
        assert audio.dbfs(speech) > -30
    assert takes[1].duration_s > 2 * takes[0].duration_s
    slow = audio.prepare(voice.synthesize(short, voice="auto", speed=0.6), characters=len(short), speed=0.6,
                         max_bytes=10**8)
    assert slow.duration_s > takes[0].duration_s * 1.3  # the course's speed is honoured


def test_offline_voice_without_espeak_says_how_to_install_it() -> None:
    voice = EspeakVoice(executable=None)
    voice.executable = "/nonexistent/espeak-ng"
    with pytest.raises(ProviderError, match="espeak-ng could not be started"):
        voice.synthesize("x", voice="auto", speed=1.0)


# ---- the OpenAI voice over real HTTP ------------------------------------------------------------------------

def _openai(server: FakeOpenAIServer, timeout_s: float = 5.0) -> OpenAIVoice:
    return OpenAIVoice(api_key="sk-test-voice-key", base_url=server.base_url, model="gpt-4o-mini-tts",
                       default_voice="alloy", timeout_s=timeout_s)


def test_openai_voice_sends_model_voice_speed_and_gets_audio_that_grows_with_the_text() -> None:
    with FakeOpenAIServer() as server:
        voice = _openai(server)
        short, long = "مرحباً بكم.", "مرحباً بكم في درس اليوم عن ترتيب البيانات في الجداول."
        takes = [audio.prepare(voice.synthesize(t, voice="nova", speed=1.25), characters=len(t), speed=1.25,
                               max_bytes=10**8) for t in (short, long)]
        assert takes[0].duration_s == pytest.approx(speech_seconds(short, 1.25), abs=0.01)
        assert takes[1].duration_s > takes[0].duration_s
        body = server.requests[0].body
        assert server.requests[0].path == "/v1/audio/speech"
        assert (body["model"], body["voice"], body["speed"], body["input"], body["response_format"]) == \
            ("gpt-4o-mini-tts", "nova", 1.25, short, "wav")


@pytest.mark.parametrize(("reply", "category", "retryable"), [
    (Reply("rate_limit", retry_after="7"), "rate_limited", True),
    (Reply("server_error"), "provider", True),
    (Reply("unauthorized"), "auth", False),
    (Reply("slow", delay=1.5), "timeout", True),
])
def test_openai_voice_errors_are_translated(reply: Reply, category: str, retryable: bool) -> None:
    with FakeOpenAIServer() as server:
        server.script(reply)
        with pytest.raises(ProviderError) as caught:
            _openai(server, timeout_s=0.5).synthesize("Hello there.", voice="alloy", speed=1.0)
    assert caught.value.category == category and caught.value.retryable is retryable
    assert "sk-test-voice-key" not in str(caught.value)
    if reply.kind == "rate_limit":
        assert caught.value.retry_after == 7


# ---- voice jobs in the queue --------------------------------------------------------------------------------

def _voice_all(rt: Runtime, video_id: int, **kw: object) -> list[int]:
    with rt.sessions() as s:
        batch = request_voices(s, video_id=video_id, settings=kw.pop("settings", rt.settings),  # type: ignore[arg-type]
                               **kw)  # type: ignore[arg-type]
        s.commit()
        return [j.id for j in batch.jobs]


def test_voicing_a_video_stores_a_take_per_shot_and_times_the_board(runtime: Runtime) -> None:
    with FakeOpenAIServer() as server:
        settings = openai_settings(runtime.settings, server.base_url)
        with runtime.sessions() as s:
            board = voiced_board(s, shots=3)
            s.commit()
        with runtime.sessions() as s:
            est = estimate_voices(s, video_id=board.video_id, settings=settings, provider="openai")
        # Characters × the rate card's voice rate, through the one money rule (and the budget's answer with it).
        rate = cost.DEFAULT_RATES["gpt-4o-mini-tts"]
        assert rate.unit == "character" and rate.usd > 0
        assert est.shots == 3 and est.usd == pytest.approx(round(rate.usd * est.characters, 4))
        assert est.admission.admitted and est.quote.source == "rate card"
        ids = _voice_all(runtime, board.video_id, settings=settings, provider="openai")
        assert len(ids) == 3
        voice_worker(runtime, base_url=server.base_url).run(drain=True)
        assert len(server.requests) == 3
        with runtime.sessions() as s:
            jobs = [s.get(Job, i) for i in ids]
            assert [j.status for j in jobs] == ["succeeded"] * 3
            current = load_current_board(s, board.video_id)
            assert current is not None
            for shot, job in zip(current.shots, jobs):
                assert shot.voice_id is not None and shot.voice_freshness.state == "fresh"
                assert shot.voice_duration_s == pytest.approx(speech_seconds(job.prompt_text), abs=0.01)
                assert job.source_file_id == board.file_id and job.params["characters"] == len(job.prompt_text)
            spent = cost.spend(s, file_id=board.file_id, rate_card=cost.load_rate_card(s))
            assert spent.by_kind["voice"] == pytest.approx(est.usd, abs=1e-4)  # what the estimate said was paid
        # Asking again reuses the takes: nothing new is queued, nothing is paid.
        assert sorted(_voice_all(runtime, board.video_id, settings=settings, provider="openai")) == sorted(ids)
        with runtime.sessions() as s:
            assert estimate_voices(s, video_id=board.video_id, settings=settings, provider="openai").shots == 0


@needs_espeak
def test_lexicon_and_narration_changes_make_audio_stale_and_a_new_take_replaces_it(runtime: Runtime) -> None:
    with runtime.sessions() as s:
        board = voiced_board(s, shots=1)
        s.commit()
    first = _voice_all(runtime, board.video_id, provider="offline")
    voice_worker(runtime).run(drain=True)
    with runtime.sessions() as s:
        assert s.get(Job, first[0]).prompt_text.count("Excel") == 1
        update_voice_style(s, board.file_id, lexicon={"Excel": "إكسل"}, actor="ed")
        s.commit()
        shot = load_current_board(s, board.video_id).shots[0]  # type: ignore[union-attr]
        assert shot.voice_freshness.state == "stale"
        old_voice = shot.voice_id
    second = _voice_all(runtime, board.video_id, provider="offline")
    assert second != first
    voice_worker(runtime).run(drain=True)
    with runtime.sessions() as s:
        job = s.get(Job, second[0])
        assert "Excel" not in job.prompt_text and "إكسل" in job.prompt_text  # the lexicon applied before synthesis
        shot = load_current_board(s, board.video_id).shots[0]  # type: ignore[union-attr]
        assert shot.voice_id != old_voice and shot.voice_freshness.state == "fresh"
        # A forced re-voice of the same inputs is a second take, waiting for the producer's choice.
        forced = request_voice(s, board.shot_ids[0], settings=runtime.settings, provider="offline", force=True)
        s.commit()
        forced_id = forced.id
    voice_worker(runtime).run(drain=True)
    with runtime.sessions() as s:
        takes = list_takes(s, shot_id=board.shot_ids[0], kind="voice")
        assert len(takes) == 3 and takes[0].job_id == forced_id
        assert s.get(Shot, board.shot_ids[0]).selected_voice_id != takes[0].id
        select_take(s, takes[0].id, actor="ed")
        s.commit()
        assert s.get(Shot, board.shot_ids[0]).selected_voice_id == takes[0].id


def _voice_states(rt: Runtime, video_id: int) -> list[tuple[int | None, str]]:
    with rt.sessions() as s:
        board = load_current_board(s, video_id)
        assert board is not None
        return [(shot.voice_id, shot.voice_freshness.state) for shot in board.shots]


@needs_espeak
def test_a_paid_openai_take_replaces_the_offline_one_and_reads_fresh(runtime: Runtime) -> None:
    """Offline for timing first, then the OpenAI voice: the paid take is the one the cut uses."""
    with FakeOpenAIServer() as server:
        settings = openai_settings(runtime.settings, server.base_url)
        with runtime.sessions() as s:
            board = voiced_board(s, shots=2)
            s.commit()
        _voice_all(runtime, board.video_id, provider="offline")
        voice_worker(runtime).run(drain=True)
        offline = _voice_states(runtime, board.video_id)
        assert [state for _, state in offline] == ["fresh", "fresh"]
        paid = _voice_all(runtime, board.video_id, settings=settings, provider="openai")
        voice_worker(runtime, base_url=server.base_url).run(drain=True)
        assert len(server.requests) == 2
        with runtime.sessions() as s:
            for shot_id, job_id in zip(board.shot_ids, paid):
                take = s.get(Asset, s.get(Shot, shot_id).selected_voice_id)  # type: ignore[union-attr]
                assert take is not None and take.job_id == job_id and take.provider == "voice-openai"
        after = _voice_states(runtime, board.video_id)
        assert [state for _, state in after] == ["fresh", "fresh"]
        assert all(new != old for (new, _), (old, _) in zip(after, offline))
        # A course that names its provider: takes by another provider read stale, and voicing brings them back.
        with runtime.sessions() as s:
            update_voice_style(s, board.file_id, provider="offline")
            s.commit()
            reasons = load_current_board(s, board.video_id).shots[0].voice_freshness.reasons  # type: ignore[union-attr]
        assert any("course's is now offline" in r for r in reasons)
        # Voice all reuses the offline takes of these very words (nothing is voiced again) and selects them.
        assert _voice_all(runtime, board.video_id) != paid
        with runtime.sessions() as s:
            assert s.scalar(select(func.count(Job.id)).where(Job.kind == "voice")) == 4
        assert _voice_states(runtime, board.video_id) == offline


def test_a_lexicon_entry_makes_only_the_shots_that_say_it_stale(runtime: Runtime) -> None:
    with FakeOpenAIServer() as server:
        settings = openai_settings(runtime.settings, server.base_url)
        with runtime.sessions() as s:
            board = voiced_board(s, shots=3)  # only the first shot says "Excel"
            s.commit()
        _voice_all(runtime, board.video_id, settings=settings, provider="openai")
        voice_worker(runtime, base_url=server.base_url).run(drain=True)
        voiced = _voice_states(runtime, board.video_id)
        # An entry no shot says changes nothing: every shot stays voiced, and Voice all has nothing to do.
        with runtime.sessions() as s:
            update_voice_style(s, board.file_id, lexicon={"PowerPoint": "باوربوينت"})
            s.commit()
        assert _voice_states(runtime, board.video_id) == voiced
        with runtime.sessions() as s:
            assert estimate_voices(s, video_id=board.video_id, settings=settings, provider="openai").shots == 0
        # An entry the first shot says makes exactly that shot stale, and Voice all re-voices only it.
        with runtime.sessions() as s:
            update_voice_style(s, board.file_id, lexicon={"PowerPoint": "باوربوينت", "Excel": "إكسل"})
            s.commit()
        assert [state for _, state in _voice_states(runtime, board.video_id)] == ["stale", "fresh", "fresh"]
        with runtime.sessions() as s:
            est = estimate_voices(s, video_id=board.video_id, settings=settings, provider="openai")
            assert est.shots == 1 and est.usd > 0
        server.clear()
        _voice_all(runtime, board.video_id, settings=settings, provider="openai")
        voice_worker(runtime, base_url=server.base_url).run(drain=True)
        assert [r.body["input"] for r in server.requests] == ["مرحباً بكم في درس اليوم عن إكسل."]
        after = _voice_states(runtime, board.video_id)
        assert [state for _, state in after] == ["fresh"] * 3
        assert after[0][0] != voiced[0][0] and after[1:] == voiced[1:]


def test_budget_gate_refuses_a_voice_batch_that_would_pass_the_budget(runtime: Runtime) -> None:
    settings = openai_settings(runtime.settings, "http://127.0.0.1:9/v1")
    with runtime.sessions() as s:
        board = voiced_board(s, shots=3)
        s.get(SourceFile, board.file_id).budget_usd = 0.0001  # type: ignore[union-attr]
        s.commit()
    with runtime.sessions() as s:
        with pytest.raises(GateError, match="budget"):
            request_voices(s, video_id=board.video_id, settings=settings, provider="openai")
        s.rollback()
        assert s.scalars(select(Job)).all() == []


def test_a_voice_is_checked_against_its_provider_when_saved(runtime: Runtime) -> None:
    with runtime.sessions() as s:
        board = voiced_board(s, shots=1)
        with pytest.raises(ValidationError, match=r"offline voice \(espeak-ng\) has no voice 'nova'.*OpenAI"):
            update_voice_style(s, board.file_id, provider="offline", voice="nova")
        with pytest.raises(ValidationError, match="OpenAI voice has no voice 'en-gb'"):
            update_voice_style(s, board.file_id, provider="openai", voice="en-gb")
        # An OpenAI-compatible server may offer voices of its own: a name that is not espeak's is its to judge.
        assert update_voice_style(s, board.file_id, provider="openai", voice="piper").voice == "piper"
        with pytest.raises(ValidationError, match="has no voice 'piper'"):
            update_voice_style(s, board.file_id, provider="offline")
        assert update_voice_style(s, board.file_id, provider="openai", voice="nova").voice == "nova"
        with pytest.raises(ValidationError, match="has no voice 'nova'"):  # the saved voice no longer fits
            update_voice_style(s, board.file_id, provider="offline")
        style = update_voice_style(s, board.file_id, provider="offline", voice="")
        assert (style.provider, style.voice) == ("offline", "")
        # The studio's default provider takes any known voice: each provider uses it when it has it.
        assert update_voice_style(s, board.file_id, provider="", voice="nova").voice == "nova"


@needs_espeak
def test_a_saved_openai_voice_does_not_break_offline_voicing(runtime: Runtime) -> None:
    """The estimate said free: offline voicing of a course saved with "nova" speaks in espeak's own voice (Arabic
    or English by the text) instead of failing every job with "Unknown offline voice"."""
    with runtime.sessions() as s:
        board = voiced_board(s, shots=2)
        update_voice_style(s, board.file_id, provider="", voice="nova")
        s.commit()
    ids = _voice_all(runtime, board.video_id, provider="offline")
    voice_worker(runtime).run(drain=True)
    with runtime.sessions() as s:
        jobs = [s.get(Job, i) for i in ids]
        assert [(j.status, j.params["voice"]) for j in jobs] == [("succeeded", "auto")] * 2, [j.error for j in jobs]
        # And an espeak name saved for the course gives the OpenAI voice its default voice.
        update_voice_style(s, board.file_id, voice="ar")
        openai_job = request_voice(s, board.shot_ids[0], provider="openai",
                                   settings=openai_settings(runtime.settings, "http://127.0.0.1:9/v1"))
        assert openai_job.params["voice"] == runtime.settings.openai_tts_voice


def test_locked_and_empty_shots_are_skipped_with_the_reason(runtime: Runtime) -> None:
    with runtime.sessions() as s:
        board = voiced_board(s, shots=3)
        s.get(Shot, board.shot_ids[0]).review_status = "locked"  # type: ignore[union-attr]
        s.get(Shot, board.shot_ids[1]).narration_text = "  "  # type: ignore[union-attr]
        s.commit()
    with runtime.sessions() as s:
        batch = request_voices(s, video_id=board.video_id, settings=runtime.settings, provider="offline")
        assert len(batch.jobs) == 1
        assert "locked" in batch.skipped[board.shot_ids[0]] and "no narration" in batch.skipped[board.shot_ids[1]]
        with pytest.raises(StudioError, match="Unknown voice"):
            request_voice(s, board.shot_ids[2], settings=runtime.settings, provider="piper")


@pytest.mark.parametrize(("replies", "status", "category", "calls"), [
    ([Reply("rate_limit", retry_after_ms=10), Reply("server_error")], "succeeded", None, 3),
    ([Reply("malformed")], "failed", "bad_output", 1),
    ([Reply("silent")], "failed", "bad_output", 1),
    ([Reply("server_error")] * 3, "failed", "provider", 3),
])
def test_voice_errors_end_as_a_clear_job_state(runtime: Runtime, replies: list[Reply], status: str,
                                               category: str | None, calls: int) -> None:
    with FakeOpenAIServer() as server:
        settings = openai_settings(runtime.settings, server.base_url)
        with runtime.sessions() as s:
            board = voiced_board(s, shots=1)
            job_id = request_voice(s, board.shot_ids[0], settings=settings, provider="openai").id
            s.commit()
        server.script(*replies)
        voice_worker(runtime, base_url=server.base_url, max_attempts=3).run(drain=True)
        with runtime.sessions() as s:
            job = s.get(Job, job_id)
            assert (job.status, job.error_category) == (status, category), job.error
            if status == "failed":
                assert job.error and "sk-test" not in job.error
                assert s.get(Shot, board.shot_ids[0]).selected_voice_id is None
        assert len(server.requests) == calls


def test_a_resumed_voice_job_never_pays_twice(runtime: Runtime) -> None:
    """The take is recorded under the job's idempotency key at submit: a second submit (a worker that died
    after speaking, before finishing the job) finds it and does not call the voice again."""
    from core.render.providers import RenderSpec

    with FakeOpenAIServer() as server:
        worker = voice_worker(runtime, base_url=server.base_url)
        provider = worker.providers["voice-openai"]
        spec = RenderSpec(job_id=1, kind="voice", model="gpt-4o-mini-tts", prompt="Hello there, welcome.",
                          params={"voice": "alloy", "speed": 1.0})
        first = provider.submit(spec, "key-1")
        again = provider.submit(spec, "key-1")
        assert first == again and len(server.requests) == 1
        out = provider.fetch(spec, provider.poll(first.request_id, None))
        assert out.info.duration_s == pytest.approx(speech_seconds("Hello there, welcome."), abs=0.01)


def test_a_long_narration_retried_after_a_failed_piece_does_not_pay_the_first_piece_again(runtime: Runtime) -> None:
    """Piece 2 of a narration over 4,096 characters meets a 429: the job's retry asks for piece 2 (and on), not
    again for piece 1, which was paid and stored under the job's key."""
    long = " ".join(["في هذا الدرس نتعرف على أساسيات جداول البيانات خطوة بخطوة.",
                     "Then we open Excel and sort the table by date."] * 50)
    assert OPENAI_MAX_CHARS < len(long) < 2 * OPENAI_MAX_CHARS
    with FakeOpenAIServer() as server:
        settings = openai_settings(runtime.settings, server.base_url)
        with runtime.sessions() as s:
            board = voiced_board(s, shots=1)
            s.get(Shot, board.shot_ids[0]).narration_text = long  # type: ignore[union-attr]
            job = request_voice(s, board.shot_ids[0], settings=settings, provider="openai")
            s.commit()
            job_id, key = job.id, job.idempotency_key
        server.script(Reply(), Reply("rate_limit", retry_after_ms=10))  # piece 1 answered, piece 2 refused once
        voice_worker(runtime, base_url=server.base_url, max_attempts=3).run(drain=True)
        sent = [(r.headers.get("idempotency-key"), r.body["input"], r.answered_with) for r in server.requests]
        with runtime.sessions() as s:
            done = s.get(Job, job_id)
            assert done.status == "succeeded", done.error  # type: ignore[union-attr]
            take = s.get(Asset, s.get(Shot, board.shot_ids[0]).selected_voice_id)  # type: ignore[union-attr]
    assert [(k, a) for k, _, a in sent] == [(f"{key}-1", "ok"), (f"{key}-2", "rate_limit"), (f"{key}-2", "ok")]
    inputs = [i for _, i, _ in sent]
    assert inputs[1] == inputs[2] and "".join([inputs[0], inputs[2]]).replace(" ", "") == long.replace(" ", "")
    assert take is not None and take.duration_s == pytest.approx(speech_seconds(inputs[0]) + speech_seconds(inputs[2]),
                                                                 abs=0.05)


def test_fake_server_speech_is_a_real_wav() -> None:
    data = speech_wav("one two three four five six", speed=1.0)
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and w.getnframes() / w.getframerate() == \
            pytest.approx(speech_seconds("one two three four five six"), abs=0.001)
    assert Asset  # imported for the relationship's mapper in this module


@needs_espeak
def test_cli_estimates_then_voices_a_video_and_waits(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from core.cli import main

    monkeypatch.setenv("STUDIO_DATA_DIR", str(sqlite_runtime.data_dir))
    monkeypatch.setenv("DATABASE_URL", sqlite_runtime.settings.db_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with sqlite_runtime.sessions() as s:
        board = voiced_board(s, shots=2)
        s.commit()
    assert main(["voice", "--video", str(board.video_id), "--estimate"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shots"] == 2 and out["usd"] == 0 and "free (offline voice)" in out["estimate"]
    assert main(["voice", "--file", str(board.file_id), "--provider", "offline", "--wait"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [j["status"] for j in out["jobs"]] == ["succeeded", "succeeded"]
    # A forced re-voice is a second take waiting for a choice: list the shot's takes, then pick one.
    shot = str(board.shot_ids[0])
    assert main(["voice", "--shot", shot, "--provider", "offline", "--force", "--wait"]) == 0
    capsys.readouterr()
    assert main(["voice", "--shot", shot, "--takes"]) == 0
    takes = json.loads(capsys.readouterr().out)["takes"]
    assert [(t["selected"], t["provider"], t["voice"]) for t in takes] == [(False, "offline", "auto"),
                                                                            (True, "offline", "auto")]
    assert main(["voice", "--select", str(takes[0]["take"])]) == 0
    assert json.loads(capsys.readouterr().out) == {"selected": takes[0]["take"], "shot": board.shot_ids[0]}
    with sqlite_runtime.sessions() as s:
        assert s.get(Shot, board.shot_ids[0]).selected_voice_id == takes[0]["take"]  # type: ignore[union-attr]
    assert main(["voice", "--takes", "--video", str(board.video_id)]) == 2
    assert "give --shot" in capsys.readouterr().err
    assert main(["voice", "--shot", "999999"]) == 2
    assert "does not exist" in capsys.readouterr().err
