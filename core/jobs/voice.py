"""Asking for narration audio: one `voice` job per shot, in the same queue as images and clips.

The rules are the render queue's (`core.jobs.queue`): the same narration in the same voice while a job is in
flight returns that job, even when forced (a double click never pays twice); a finished take with the same inputs
is reused unless forced (a re-voice), and becomes the shot's take again if another one was selected since
(`core.jobs.takes.bring_back_voice_take`); locked shots are never re-voiced, approved shots that have audio only when
forced; a batch (a video, a script) skips what cannot be voiced, with the reason. Money is the one rule of
`core.money`: a voice job is priced for the characters it speaks (after the lexicon) × the voice model's rate on
the rate card; a request is admitted whole against the script's budget or queues nothing; an estimate
(`quote_voices`) runs the very same request functions without writing and prices what they would queue.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import approvals, money
from core.activity import log_activity
from core.authz import acting_name, require
from core.db import begin_sqlite
from core.errors import GateError, NotFoundError, StudioError, ValidationError
from core.jobs import planning, prefetch
from core.jobs.queue import RenderBatch, TakeKept, _enforce, _index, _insert_or_existing, _prior_job
from core.jobs.takes import bring_back_voice_take, source_file_of
from core.models import Job, Shot, Video
from core.prompts.style import find_style_bible
from core.review import APPROVED_STATUSES
from core.settings import Settings
from core.voice.providers import resolve_voice_provider, voice_model, worker_provider_name
from core.voice.style import VoiceStyle, spoken_text, voice_for_provider, voice_hash, voice_style


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
    voice_hash: str  # `core.voice.style.voice_hash` of the provider, model, voice, speed and spoken text
    usd: float
    course_voice: str = ""  # the course's own voice when it is the one used, "" for the provider's default

    @property
    def characters(self) -> int:
        return len(self.spoken)


@dataclass(frozen=True)
class VoiceEstimate:
    """What voicing would queue and cost (`core.money.Quote` of the same request, not written)."""

    quote: money.Quote

    @property
    def shots(self) -> int:
        return self.quote.voices

    @property
    def characters(self) -> int:
        return self.quote.characters

    @property
    def usd(self) -> float:
        return self.quote.total_usd

    @property
    def skipped(self) -> dict[int, str]:
        return self.quote.skipped

    @property
    def admission(self) -> money.Admission:
        return self.quote.admission

    def summary(self) -> str:
        skipped = f"; {len(self.skipped)} skipped" if self.skipped else ""
        refused = "" if self.admission.admitted else f". {self.admission.reason}"
        return f"{self.shots} shot(s), {self.characters} characters: {self.quote.cost_text()}{skipped}{refused}"


def course_voice(session: Session, shot: Shot) -> tuple[int | None, VoiceStyle]:
    file_id = source_file_of(session, shot_id=shot.id)
    return file_id, voice_style(find_style_bible(session, file_id) if file_id is not None else None)


Course = tuple[int | None, VoiceStyle]  # a script's id and its voice, read once per batch


def plan_voice(session: Session, shot: Shot, *, settings: Settings, provider: str | None = None,
               rate_card: money.RateCard | None = None, course: Course | None = None) -> VoicePlan:
    """The voice job a shot would get now, priced by `core.money`; `StudioError` (invalid) when there is nothing
    to say."""
    _, style = course or course_voice(session, shot)
    narration = " ".join((shot.narration or "").split())
    if not narration:
        raise StudioError(f"Shot {shot.position} has no narration to voice", category="invalid")
    name = resolve_voice_provider(settings, provider, style)
    model = voice_model(settings, name)
    # The course's voice when this provider has it, else the provider's default (an OpenAI name saved for a
    # course voiced offline must not fail every job).
    chosen = voice_for_provider(name, style.voice)
    voice = chosen or (settings.openai_tts_voice if name == "openai" else "auto")
    spoken = spoken_text(narration, style.lexicon)
    price = money.price_render(rate_card or money.load_rate_card(session), provider=worker_provider_name(name),
                               kind="voice", model=model, characters=len(spoken))
    # The take's hash is what will be said and who says it, not the style bible's fields (a take by another
    # provider is another take; an unused lexicon entry changes nothing).
    take = voice_hash(provider=name, model=model, voice=voice, speed=style.speed, spoken=spoken)
    return VoicePlan(shot.id, shot.position, name, model, voice, style.speed, spoken, take, price.usd, chosen)


def voice_input_hash(plan: VoicePlan) -> str:
    """Same shot, same words, same voice == same job (the queue's dedupe and reuse key)."""
    payload = {"kind": "voice", "shot": plan.shot_id, "text": plan.spoken, "provider": plan.provider,
               "model": plan.model, "voice": plan.voice, "speed": round(plan.speed, 3)}
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def request_voice(session: Session, shot_id: int, *, settings: Settings, provider: str | None = None,
                  force: bool = False, actor: str = "") -> Job:
    """The voice job of a shot: an in-flight or reusable one, else a new pending one (refused whole when it would
    take the script over its budget)."""
    require("render")
    batch = RenderBatch()
    job = _request_voice(session, shot_id, settings=settings, provider=provider, force=force, actor=actor,
                         batch=batch)[0]
    _enforce(session, batch.new_jobs, batch)
    return job


def _live_shot(session: Session, shot_id: int) -> Shot:
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    return shot


def _request_voice(session: Session, shot_id: int, *, settings: Settings, provider: str | None, force: bool,
                   actor: str, batch: RenderBatch, rate_card: money.RateCard | None = None,
                   course: Course | None = None) -> tuple[Job, bool]:
    """One shot's voice job; new jobs join `batch.new_jobs` (the caller asks the budget about all of them). A dry
    batch builds the job without writing it (the estimate)."""
    if not batch.dry:
        begin_sqlite(session, immediate=True)
    shot = _live_shot(session, shot_id)
    course = course or course_voice(session, shot)
    plan = plan_voice(session, shot, settings=settings, provider=provider, rate_card=rate_card, course=course)
    input_hash = voice_input_hash(plan)

    def gate() -> None:
        if shot.review_status == "locked":
            raise GateError(f"Shot {shot.position} is locked: its narration audio cannot change. Unlock it on the "
                            "Review page first.")
        if (not force and shot.selected_voice_id is not None
                and approvals.shot_status(session, shot) in APPROVED_STATUSES):  # changed since: back in review
            raise TakeKept(f"Shot {shot.position} is {shot.review_status} and has narration audio; re-voice it "
                            "(force) to record another take anyway")

    prior = _prior_job(session, input_hash, force=force, gate=gate, index=_index(batch))
    if prior is not None:
        if not batch.dry:  # a finished take of these very words and voice: the shot's again, for free
            bring_back_voice_take(session, shot, prior, actor=actor)
        return prior, False
    file_id = course[0]
    # No cost on the job: a voice reports none, so it is priced by the rate card for `characters` (core.money),
    # like any render without a reported price.
    job = Job(kind="voice", shot_id=shot.id, prompt_text=plan.spoken, provider=worker_provider_name(plan.provider),
              model=plan.model, input_hash=input_hash, idempotency_key=uuid.uuid4().hex, forced=force,
              requested_by=acting_name(actor), source_file_id=file_id,
              params={"voice": plan.voice, "speed": plan.speed, "voice_hash": plan.voice_hash,
                      "course_voice": plan.course_voice,
                      "characters": plan.characters})
    if batch.dry:
        batch.new_jobs.append(job)
        return job, True
    job, created = _insert_or_existing(session, job)
    if not created:
        return job, False
    batch.new_jobs.append(job)
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
    voiced (no narration, locked, approved with audio) are skipped with the reason. Admitted whole against the
    budget, or nothing is queued."""
    require("render")
    batch = _voices(session, video_id=video_id, file_id=file_id, settings=settings, provider=provider, force=force,
                    actor=actor, batch=RenderBatch())
    _enforce(session, batch.new_jobs, batch)
    return batch


def _voices(session: Session, *, video_id: int | None, file_id: int | None, settings: Settings,
            provider: str | None, force: bool, actor: str, batch: RenderBatch) -> RenderBatch:
    card = money.load_rate_card(session)  # once for the batch, not once per shot
    course: Course | None = None
    for vid in _video_ids(session, video_id=video_id, file_id=file_id):
        shots = prefetch.board_shots(session, vid, batch.lookups if batch.dry else None)
        if batch.dry:
            prefetch.warm(session, shots, batch.lookups, jobs=True, frames=False)
        for shot in shots:
            course = course or course_voice(session, shot)  # one script, one voice: read it once
            batch.collect(shot.id, partial(_request_voice, session, shot.id, settings=settings, provider=provider,
                                           force=force, actor=actor, batch=batch, rate_card=card, course=course))
    return batch


def quote_voices(session: Session, *, shot_id: int | None = None, video_id: int | None = None,
                 file_id: int | None = None, settings: Settings, provider: str | None = None,
                 force: bool = False, lookups: planning.Lookups | None = None) -> money.Quote:
    """What `request_voice` / `request_voices` with these arguments would queue, its price (characters × the rate
    card) and the budget's answer, writing nothing: fresh audio of the same inputs and jobs in flight are reused,
    so they cost nothing unless forced; shots the request would skip are listed with the reason. `lookups`: rows
    another estimate of the same page read in this session (`core.jobs.prefetch`)."""
    batch = RenderBatch(dry=True, lookups={} if lookups is None else lookups)
    if shot_id is not None:
        _live_shot(session, shot_id)
        batch.collect(shot_id, partial(_request_voice, session, shot_id, settings=settings, provider=provider,
                                       force=force, actor="", batch=batch))
        script = source_file_of(session, shot_id=shot_id)
    else:
        _voices(session, video_id=video_id, file_id=file_id, settings=settings, provider=provider, force=force,
                actor="", batch=batch)
        video = session.get(Video, video_id) if video_id is not None else None
        script = video.source_file_id if video is not None else file_id
    existing = sum(1 for j in batch.jobs if j.id is not None)
    return money.quote_jobs(session, script, batch.new_jobs, existing=existing, skipped=batch.skipped,
                            kept=batch.kept)


def estimate_voices(session: Session, *, shot_id: int | None = None, video_id: int | None = None,
                    file_id: int | None = None, settings: Settings, provider: str | None = None,
                    force: bool = False, lookups: planning.Lookups | None = None) -> VoiceEstimate:
    """`quote_voices`, with the shots, characters and price a producer reads before voicing."""
    return VoiceEstimate(quote_voices(session, shot_id=shot_id, video_id=video_id, file_id=file_id,
                                      settings=settings, provider=provider, force=force, lookups=lookups))
