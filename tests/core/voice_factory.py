"""Voiced boards for the voice-over tests: a board whose shots speak, and workers that voice them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.exports.data import VideoRow, collect_script
from core.jobs import Worker
from core.jobs.voice import request_voice
from core.models import Shot
from core.runtime import Runtime
from core.settings import Settings
from core.voice.providers import EspeakVoice, OpenAIVoice
from core.voice.render import VoiceRenderProvider
from tests.core.jobs_factory import Board, make_board
from tests.core.review_factory import ScriptIds, make_script
from tests.fakes.openai_server import FakeOpenAIServer

NARRATION = ("مرحباً بكم في درس اليوم عن Excel.", "نتعلم اليوم كيف نرتب البيانات. ثم نرسم جدولاً بسيطاً.",
             "This shot is in English, with a short sentence.", "وفي الختام نراجع ما تعلمناه معاً.")


def voiced_board(session: Session, *, shots: int = 3, frames: int = 1) -> Board:
    board = make_board(session, shots=shots, frames=frames)
    for n, shot_id in enumerate(board.shot_ids):
        shot = session.get(Shot, shot_id)
        assert shot is not None
        shot.narration_text = NARRATION[n % len(NARRATION)]
    session.flush()
    return board


def openai_settings(base: Settings, base_url: str, **extra: Any) -> Settings:
    return base.model_copy(update={"openai_api_key": __import__("pydantic").SecretStr("sk-test-voice-key"),
                                   "openai_base_url": base_url, **extra})


def voice_worker(rt: Runtime, *, base_url: str | None = None, timeout_s: float = 5.0, **kw: Any) -> Worker:
    providers: dict[str, Any] = {"voice-offline": VoiceRenderProvider("voice-offline", rt.assets, EspeakVoice(),
                                                                       max_bytes=50_000_000)}
    if base_url is not None:
        voice = OpenAIVoice(api_key="sk-test-voice-key", base_url=base_url, model="gpt-4o-mini-tts",
                            default_voice="alloy", timeout_s=timeout_s)
        providers["voice-openai"] = VoiceRenderProvider("voice-openai", rt.assets, voice, max_bytes=50_000_000)
    return Worker(rt, providers=providers, backoff_s=0.01, idle_s=0.02, **kw)


def voiced_script(rt: Runtime, *, voice: int, shots: int = 3) -> tuple[ScriptIds, VideoRow]:
    """A script of `shots` shots (the first with a clip), the first `voice` of them voiced by the fake OpenAI voice;
    and its video as the exports see it."""
    with FakeOpenAIServer() as server:
        settings = openai_settings(rt.settings, server.base_url)
        with rt.sessions() as s:
            ids = make_script(s, rt.data_dir, shots=shots, frames=1, clip_shots=1)
            for shot_id in ids.shot_ids[:voice]:
                request_voice(s, shot_id, settings=settings, provider="openai")
            s.commit()
        voice_worker(rt, base_url=server.base_url).run(drain=True)
    with rt.sessions() as s:
        video = collect_script(s, ids.file_id, data_dir=rt.data_dir).videos[0]
    return ids, video
