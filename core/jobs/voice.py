"""Asking for narration audio: one `voice` job per shot, in the same queue as images and clips.

The rules are the render queue's (`core.jobs.queue`): the same narration in the same voice while a job is in
flight returns that job, even when forced (a double click never pays twice); a finished take with the same inputs
is reused unless forced (a re-voice); locked shots are never re-voiced, approved shots that have audio only when
forced; a batch (a video, a script) skips what cannot be voiced, with the reason, and is checked once against the
budget. The price — characters of spoken text (after the lexicon) × the voice's rate (`core.cost.voice_price`) —
is stored on the job, so the budget gate and the spend count it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.cost import voice_price
from core.errors import GateError, NotFoundError, StudioError, ValidationError
from core.jobs.queue import RenderBatch, _begin_sqlite, _enforce_budget, _insert_or_existing, _prior_job
from core.jobs.takes import source_file_of
from core.models import Job, Shot, Video
from core.prompts.style import find_style_bible
from core.review import APPROVED_STATUSES, current_shots
from core.settings import Settings
from core.voice.lexicon import apply_lexicon
from core.voice.providers import resolve_voice_provider, voice_model, worker_provider_name
from core.voice.style import VoiceStyle, voice_hash, voice_style


@dataclass(frozen=True)
class VoicePlan:
    """What voicing one shot would send: the spoken text (lexicon applied), the voice, and its price."""

    shot_id: int
    position: int
    provider: str  # "openai" | "offline"
    model: str
    voice: str
    speed: float
    spoken: str
    voice_hash: str
    usd: float

    @property
    def characters(self) -> int:
        return len(self.spoken)


@dataclass(frozen=True)
class VoiceEstimate:
    shots: int
    characters: int
    usd: float
    skipped: dict[int, str]

    def summary(self) -> str:
        price = "free (offline voice)" if self.usd == 0 else f"≈ ${self.usd:.2f}"
        skipped = f"; {len(self.skipped)} skipped" if self.skipped else ""
        return f"{self.shots} shot(s), {self.characters} characters: {price}{skipped}"


def course_voice(session: Session, shot: Shot) -> tuple[int | None, VoiceStyle]:
    file_id = source_file_of(session, shot_id=shot.id)
    return file_id, voice_style(find_style_bible(session, file_id) if file_id is not None else None)


Course = tuple[int | None, VoiceStyle]  # a script's id and its voice, read once per batch


def plan_voice(session: Session, shot: Shot, *, settings: Settings, provider: str | None = None,
               course: Course | None = None) -> VoicePlan:
    """The voice job a shot would get now; `StudioError` (invalid) when there is nothing to say."""
    _, style = course or course_voice(session, shot)
    narration = " ".join((shot.narration or "").split())
    if not narration:
        raise StudioError(f"Shot {shot.position} has no narration to voice", category="invalid")
    name = resolve_voice_provider(settings, provider, style)
    model = voice_model(settings, name)
    voice = style.voice or (settings.openai_tts_voice if name == "openai" else "auto")
    spoken = apply_lexicon(narration, style.lexicon)
    return VoicePlan(shot.id, shot.position, name, model, voice, style.speed, spoken, voice_hash(narration, style),
                     voice_price(model, len(spoken)))


def voice_input_hash(plan: VoicePlan) -> str:
    """Same shot, same words, same voice == same job (the queue's dedupe and reuse key)."""
    payload = {"kind": "voice", "shot": plan.shot_id, "text": plan.spoken, "provider": plan.provider,
               "model": plan.model, "voice": plan.voice, "speed": round(plan.speed, 3)}
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def request_voice(session: Session, shot_id: int, *, settings: Settings, provider: str | None = None,
                  force: bool = False, actor: str = "") -> Job:
    """The voice job of a shot: an in-flight or reusable one, else a new pending one."""
    require("render")
    return _request_voice(session, shot_id, settings=settings, provider=provider, force=force, actor=actor)[0]


def _live_shot(session: Session, shot_id: int) -> Shot:
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    return shot


def _request_voice(session: Session, shot_id: int, *, settings: Settings, provider: str | None, force: bool,
                   actor: str, check_budget: bool = True, course: Course | None = None) -> tuple[Job, bool]:
    _begin_sqlite(session, immediate=True)
    shot = _live_shot(session, shot_id)
    course = course or course_voice(session, shot)
    plan = plan_voice(session, shot, settings=settings, provider=provider, course=course)
    input_hash = voice_input_hash(plan)

    def gate() -> None:
        if shot.review_status == "locked":
            raise GateError(f"Shot {shot.position} is locked: its narration audio cannot change. Unlock it on the "
                            "Review page first.")
        if not force and shot.review_status in APPROVED_STATUSES and shot.selected_voice_id is not None:
            raise GateError(f"Shot {shot.position} is {shot.review_status} and has narration audio; re-voice it "
                            "(force) to record another take anyway")

    prior = _prior_job(session, input_hash, force=force, gate=gate)
    if prior is not None:
        return prior, False
    job = Job(kind="voice", shot_id=shot.id, prompt_text=plan.spoken, provider=worker_provider_name(plan.provider),
              model=plan.model, input_hash=input_hash, idempotency_key=uuid.uuid4().hex, forced=force,
              requested_by=actor, cost_usd=plan.usd, cost_credits=0.0,
              params={"voice": plan.voice, "speed": plan.speed, "voice_hash": plan.voice_hash,
                      "characters": plan.characters})
    job, created = _insert_or_existing(session, job)
    if not created:
        return job, False
    file_id = course[0]
    if check_budget:
        _enforce_budget(session, settings, file_id)
    log_activity(session, "voice.requested", actor=actor, subject_type="shot", subject_id=shot.id,
                 source_file_id=file_id, job_id=job.id, kind="voice", provider=plan.provider, model=plan.model,
                 characters=plan.characters, forced=force)
    return job, True


def _video_ids(session: Session, *, video_id: int | None, file_id: int | None) -> list[int]:
    if video_id is not None:
        if session.get(Video, video_id) is None:
            raise NotFoundError(f"Video {video_id} does not exist")
        return [video_id]
    if file_id is None:
        raise ValidationError("Give a shot, a video or a script to voice")
    ids = list(session.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)))
    if not ids:
        raise NotFoundError(f"Script {file_id} has no videos to voice")
    return ids


def request_voices(session: Session, *, video_id: int | None = None, file_id: int | None = None,
                   settings: Settings, provider: str | None = None, force: bool = False,
                   actor: str = "") -> RenderBatch:
    """"Voice all": a voice job per live shot of a video (or of every video of a script); shots that cannot be
    voiced (no narration, locked, approved with audio) are skipped with the reason. One budget check for the
    whole batch: over budget, nothing is queued."""
    require("render")
    batch = RenderBatch()
    course: Course | None = None
    for vid in _video_ids(session, video_id=video_id, file_id=file_id):
        for shot in current_shots(session, vid):
            course = course or course_voice(session, shot)  # one script, one voice: read it once
            batch.collect(shot.id, partial(_request_voice, session, shot.id, settings=settings, provider=provider,
                                           force=force, actor=actor, check_budget=False, course=course))
    if batch.created and course is not None:
        _enforce_budget(session, settings, course[0])
    return batch


def estimate_voices(session: Session, *, shot_id: int | None = None, video_id: int | None = None,
                    file_id: int | None = None, settings: Settings, provider: str | None = None,
                    force: bool = False) -> VoiceEstimate:
    """What voicing would cost before anything is queued: characters × the voice's rate, for the shots that
    would be voiced (fresh audio of the same inputs is reused, so it costs nothing unless `force`)."""
    shots = [_live_shot(session, shot_id)] if shot_id is not None else \
        [s for vid in _video_ids(session, video_id=video_id, file_id=file_id) for s in current_shots(session, vid)]
    n = chars = 0
    usd = 0.0
    skipped: dict[int, str] = {}
    course: Course | None = None
    for shot in shots:
        course = course or course_voice(session, shot)
        try:
            plan = plan_voice(session, shot, settings=settings, provider=provider, course=course)
        except StudioError as err:
            if err.category != "invalid":
                raise
            skipped[shot.id] = str(err)
            continue
        if shot.review_status == "locked":
            skipped[shot.id] = f"Shot {shot.position} is locked"
            continue
        if not force and _has_take(session, voice_input_hash(plan)):
            continue
        n += 1
        chars += plan.characters
        usd += plan.usd
    return VoiceEstimate(n, chars, round(usd, 6), skipped)


def _has_take(session: Session, input_hash: str) -> bool:
    from core.jobs.queue import _reusable

    return _reusable(session, input_hash) is not None
