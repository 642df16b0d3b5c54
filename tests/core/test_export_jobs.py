"""Export jobs: a long export runs in the background with its progress readable, then its files are there to
download; a failure is told in words; jobs queue one behind another; the requester's identity goes along."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from core import authz
from core.errors import ValidationError
from core.exports.data import export_dir
from core.jobs.exports import ExportJobs
from core.runtime import Runtime
from tests.core.review_factory import make_script


@pytest.fixture
def script(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, videos=2, shots=3, frames=2, clip_shots=1)
        session.commit()
    return ids.file_id


def test_a_whole_script_pdf_reports_each_shot_page_then_is_ready(runtime: Runtime, script: int) -> None:
    seen: list[tuple[float, str]] = []
    jobs = ExportJobs(runtime)
    real_update = jobs._update

    def spy(job_id: int, **changes: Any) -> None:
        real_update(job_id, **changes)
        if "fraction" in changes and "message" in changes:
            seen.append((float(changes["fraction"]), str(changes["message"])))

    jobs._update = spy  # type: ignore[method-assign]
    job = jobs.submit("pdf", file_id=script, requested_by="ed")
    assert job.status == "waiting" and not job.finished  # submit returns at once
    done = jobs.wait(job.id, timeout_s=120)
    jobs.shutdown()
    assert done.status == "done" and done.fraction == 1.0 and done.error is None
    assert done.paths == (export_dir(runtime.data_dir, script) / "storyboard.pdf",)
    assert len(PdfReader(done.paths[0]).pages) == 1 + 2 * 3
    messages = [m for _, m in seen]
    assert [m for m in messages if m.startswith("Shot page")] == [f"Shot page {n} of 6" for n in range(1, 7)]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_an_animatic_job_moves_through_each_video(runtime: Runtime, script: int) -> None:
    from core.exports.runner import ExportOptions

    jobs = ExportJobs(runtime)
    job = jobs.submit("animatic", file_id=script, options=ExportOptions(width=320, height=180, fps=10))
    done = jobs.wait(job.id, timeout_s=300)
    jobs.shutdown()
    assert done.status == "done", done.error
    assert [p.name for p in done.paths] == ["v01.mp4", "v02.mp4"] and all(p.is_file() for p in done.paths)
    assert done.message == "Ready: 2 file(s)"


def test_a_failed_export_says_why_in_words(runtime: Runtime) -> None:
    jobs = ExportJobs(runtime)
    job = jobs.submit("pdf", file_id=987654)
    done = jobs.wait(job.id, timeout_s=60)
    jobs.shutdown()
    assert done.status == "failed" and done.error and "Traceback" not in done.error
    assert done.paths == ()


def test_an_unexpected_error_is_a_human_message_not_a_trace(runtime: Runtime, script: int) -> None:
    def broken(*args: Any, **kwargs: Any) -> list[Path]:
        raise KeyError("frames")

    jobs = ExportJobs(runtime, run=broken)
    done = jobs.wait(jobs.submit("pdf", file_id=script).id)
    jobs.shutdown()
    assert done.status == "failed" and "unexpected error" in (done.error or "") and "KeyError" not in done.error


def test_jobs_wait_their_turn_and_say_how_many_are_ahead(runtime: Runtime, script: int) -> None:
    gate = threading.Event()
    started: list[str] = []

    def held(session: Any, kind: str, **kwargs: Any) -> list[Path]:
        started.append(kind)
        gate.wait(30)
        return []

    jobs = ExportJobs(runtime, run=held)
    first = jobs.submit("pdf", file_id=script)
    second = jobs.submit("archive", file_id=script)
    third = jobs.submit("docx", file_id=script)
    assert jobs.ahead_of(third.id) == 2 and jobs.ahead_of(second.id) == 1
    assert [j.id for j in jobs.for_script(script)] == [third.id, second.id, first.id]  # newest first
    gate.set()
    assert jobs.wait(third.id).status == "done"
    jobs.shutdown()
    assert started == ["pdf", "archive", "docx"]


def test_the_job_runs_as_the_person_who_asked(runtime: Runtime, script: int) -> None:
    seen: list[str] = []

    def who(session: Any, kind: str, **kwargs: Any) -> list[Path]:
        seen.append(authz.current_principal().name)
        return []

    jobs = ExportJobs(runtime, run=who)
    with authz.acting_as(authz.Principal("mona@example.org", "Mona", frozenset({"viewer"}))):
        job = jobs.submit("pdf", file_id=script)
    jobs.wait(job.id)
    jobs.shutdown()
    assert seen == ["Mona"]


def test_an_unknown_kind_is_refused_before_it_is_queued(runtime: Runtime) -> None:
    jobs = ExportJobs(runtime)
    with pytest.raises(ValidationError, match="Unknown export"):
        jobs.submit("gif", file_id=1)
    jobs.shutdown()
