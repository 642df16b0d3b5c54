"""Reference images generated from a cast member's or set's description, for producers without a photo.

The flow a producer can rely on:
- `request_candidates` queues a few image jobs (CANDIDATES by default) through the normal render path: the same
  queue, worker, providers (the offline renderer draws a card, Higgs renders with the configured image model)
  and the same "same inputs, same job" deduplication; asking again while they render returns the same jobs;
- when a candidate's job finishes, `record_candidate` (called by the worker's take recording) adds it to the
  member's images as a candidate: shown for picking, never sent to renders;
- `core.cast.pick_candidate` locks one pick as the member's reference for the course; while it is locked, no new
  candidates are generated (remove the pick first to choose again).
Candidate jobs belong to no frame or shot but are charged to the script (`Job.source_file_id`): they count in its
spend and budget like every render, priced by `core.money`; a request that would take the script over its budget
(spent + queued + these candidates) is refused whole, queuing nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import acting_name, require
from core.cast import get_member
from core.errors import ValidationError
from core.hashing import stable_hash
from core.models import JOB_ACTIVE, Asset, CastImage, CastMember, Job, StyleBible
from core.settings import Settings

CANDIDATES = 3
MAX_CANDIDATES = 8
_LOOK = {
    "presenter": "Reference portrait of the course presenter: {description}. Head and shoulders, facing the "
                 "camera, neutral expression, even soft studio light, plain light-grey background, sharp focus "
                 "on the face, photographic.",
    "character": "Reference portrait of a recurring character: {description}. Head and shoulders, facing the "
                 "camera, even soft light, plain light-grey background, sharp focus on the face, photographic.",
    "set": "Reference view of an empty set, nobody in it: {description}. Wide establishing shot at eye level, "
           "even light, every wall and prop visible, photographic.",
}


def candidate_prompt(member: CastMember, palette: str = "") -> str:
    """The image prompt a candidate of this member is rendered from: its description in a reference framing."""
    description = " ".join(member.description.split())
    if not description:
        raise ValidationError(f"Describe {member.name} first (looks, clothes, age; for a set: the room and its "
                              "props): candidates are rendered from the description")
    prompt = _LOOK.get(member.kind, _LOOK["character"]).format(description=description.rstrip("."))
    return f"{prompt} Colour palette: {palette}." if palette.strip() else prompt


def request_candidates(session: Session, file_id: int, name: str, *, settings: Settings, count: int = CANDIDATES,
                       provider: str | None = None, actor: str = "") -> list[Job]:
    """Queue `count` candidate renders of the member's look (or return the ones already rendering)."""
    from core.jobs import planning

    require("render")
    if not 1 <= count <= MAX_CANDIDATES:
        raise ValidationError(f"Ask for 1 to {MAX_CANDIDATES} candidates at a time")
    member = get_member(session, file_id, name)
    if any(i.locked for i in member.images):
        raise ValidationError(f"{member.name}'s reference is locked for the course: remove the pick first to "
                              "generate new candidates")
    bible = session.scalar(select(StyleBible).where(StyleBible.source_file_id == file_id))
    prompt = candidate_prompt(member, bible.palette if bible else "")
    name_ = planning.resolve_provider(settings, provider)
    model = planning.model_for(settings, name_, "image")
    made = sum(1 for i in member.images if i.origin == "candidate")
    jobs: list[Job] = []
    new: list[Job] = []
    for n in range(made + 1, made + count + 1):
        params: dict[str, Any] = {"aspect_ratio": settings.aspect_ratio,
                                  "cast_candidate": {"member_id": member.id, "member": member.name, "n": n}}
        if name_ == "offline":
            params["card"] = {"label": f"{member.name} · candidate {n}", "shot_size": "close-up" if
                              member.kind != "set" else "wide shot", "scene_text": member.description,
                              "palette": bible.palette if bible else ""}
        input_hash = stable_hash({"kind": "cast_candidate", "member": member.id, "prompt": prompt, "n": n,
                                  "provider": name_, "model": model, "params": params})
        existing = session.scalar(select(Job).where(Job.input_hash == input_hash, Job.status.in_(JOB_ACTIVE)))
        if existing is not None:
            jobs.append(existing)
            continue
        job = Job(kind="image", prompt_text=prompt, provider=name_, model=model, params=params,
                  input_hash=input_hash, idempotency_key=uuid.uuid4().hex, requested_by=acting_name(actor),
                  source_file_id=file_id)
        jobs.append(job)
        new.append(job)
    _admit(session, file_id, new)
    for job in new:
        session.add(job)
    session.flush()
    log_activity(session, "cast.candidates_requested", actor=actor, source_file_id=file_id,
                 subject_type="cast_member", subject_id=member.id, jobs=[j.id for j in jobs], provider=name_)
    return jobs


def _admit(session: Session, file_id: int, new: list[Job]) -> None:
    """Refuse candidates that would take the script over its budget (`core.money`; offline renders are free)."""
    from core.errors import GateError
    from core.money import quote_jobs

    quote = quote_jobs(session, file_id, new)
    verdict = quote.admission
    if not verdict.admitted and verdict.budget_usd is not None:
        raise GateError(f"No candidates were queued: {len(new)} image(s) at ${quote.total_usd:.2f} would take this "
                        f"script over its ${verdict.budget_usd:.2f} budget (${verdict.spent_usd:.2f} spent, "
                        f"${verdict.committed_usd:.2f} queued). Raise the budget or upload a photo instead.",
                        category="budget")


def record_candidate(session: Session, job: Job, asset: Asset) -> CastImage | None:
    """The finished candidate as one of its member's images (not a reference until picked); None when the member
    was removed meanwhile, or a pick was locked while it rendered."""
    spec = (job.params or {}).get("cast_candidate") or {}
    member = session.get(CastMember, int(spec.get("member_id") or 0))
    if member is None or any(i.locked for i in member.images):
        return None
    for image in member.images:
        if image.sha256 == asset.sha256:
            return image
    image = CastImage(member_id=member.id, sha256=asset.sha256, storage_key=asset.storage_key,
                      content_type=asset.content_type, origin="candidate", is_reference=False, locked=False,
                      remote_url=asset.remote_url, uploaded_at=asset.created_at if asset.remote_url else None)
    member.images.append(image)
    session.flush()
    return image


def candidate_jobs(session: Session, member_id: int) -> list[Job]:
    """The member's candidate renders still queued or rendering (for a "rendering 2 of 3" line)."""
    jobs = session.scalars(select(Job).where(Job.status.in_(JOB_ACTIVE), Job.frame_id.is_(None),
                                             Job.shot_id.is_(None), Job.kind == "image"))
    return [j for j in jobs if ((j.params or {}).get("cast_candidate") or {}).get("member_id") == member_id]


def all_candidate_jobs(session: Session) -> int:
    """How many candidate renders are queued or running, for any member (the studio polls this)."""
    jobs = session.scalars(select(Job.params).where(Job.status.in_(JOB_ACTIVE), Job.frame_id.is_(None),
                                                    Job.shot_id.is_(None), Job.kind == "image"))
    return sum(1 for params in jobs if (params or {}).get("cast_candidate"))
