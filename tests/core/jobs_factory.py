"""Storyboard rows for the render and job tests, built directly with the models (no ingest, no refiner)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core.models import Frame, Job, PromptVersion, Shot, SourceFile, Storyboard, StyleBible, Video
from core.runtime import Runtime

SCENES = ("يدخل المعلم إلى الفصل ويحيي الطلاب", "يكتب المعلم على السبورة عنوان الدرس",
          "يرفع طالب يده ليسأل سؤالاً", "تقترب الكاميرا من كتاب مفتوح")
SIZES = ("wide shot", "medium shot", "close-up")


@dataclass
class Board:
    file_id: int
    video_id: int
    shot_ids: list[int] = field(default_factory=list)
    frames: list[list[int]] = field(default_factory=list)  # frame ids per shot

    @property
    def frame_ids(self) -> list[int]:
        return [f for shot in self.frames for f in shot]


def make_board(session: Session, *, shots: int = 2, frames: int = 2, prompts: bool = True,
               palette: str = "navy, #F2E8CF, teal") -> Board:
    digest = uuid.uuid4().hex * 2
    source = SourceFile(sha256=digest, original_name="course.docx", stored_name=f"sources/{digest}.docx",
                        size_bytes=10, title="دورة")  # the content-addressed name a real script has
    session.add(source)
    session.flush()
    session.add(StyleBible(source_file_id=source.id, palette=palette))
    video = Video(source_file_id=source.id, position=1, number=1, title="الدرس الأول", body="نص")
    session.add(video)
    session.flush()
    sb = Storyboard(video_id=video.id, version=1, is_current=True, shots_requested=shots, frames_requested=frames)
    session.add(sb)
    session.flush()
    board = Board(file_id=source.id, video_id=video.id)
    n = 0
    for s in range(1, shots + 1):
        shot = Shot(storyboard_id=sb.id, position=s, summary=f"The teacher explains idea {s}.")
        session.add(shot)
        session.flush()
        board.shot_ids.append(shot.id)
        ids = []
        for f in range(1, frames + 1):
            frame = Frame(shot_id=shot.id, position=f, scene_text=SCENES[n % len(SCENES)])
            session.add(frame)
            session.flush()
            if prompts:
                add_prompt(session, frame, f"A teacher in a navy sweater at a whiteboard, shot {s} frame {f}",
                           shot_size=SIZES[n % len(SIZES)])
            ids.append(frame.id)
            n += 1
        board.frames.append(ids)
    session.flush()
    return board


def add_prompt(session: Session, frame: Frame, text: str, *, shot_size: str = "medium shot") -> PromptVersion:
    number = len([p for p in session.query(PromptVersion).filter_by(frame_id=frame.id)]) + 1
    pv = PromptVersion(frame_id=frame.id, number=number, text=text, shot_size=shot_size, origin="manual",
                       provider="manual", input_hash=uuid.uuid4().hex, negative_prompt="text, letters")
    session.add(pv)
    session.flush()
    frame.selected_prompt_id = pv.id
    return pv


def wait_for_job(rt: Runtime, job_id: int, check: Callable[[Job], bool], timeout: float = 15.0) -> None:
    """Poll the job until `check` holds; fail with its status and error when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            if check(s.get(Job, job_id)):
                return
        time.sleep(0.05)
    with rt.sessions() as s:
        job = s.get(Job, job_id)
        raise AssertionError(f"job {job_id} never got there: status={job.status} error={job.error}")
