"""Storyboard rows built directly with the models, so prompt tests do not depend on ingestion."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core.models import Frame, Shot, SourceFile, Storyboard, Video

ARABIC_SHOTS: tuple[tuple[str, ...], ...] = (
    ("يدخل المعلم إلى الفصل ويحيي الطلاب", "يكتب المعلم على السبورة عنوان الدرس", "يرفع طالب يده ليسأل سؤالاً"),
    ("نرى خريطة قديمة للمدينة على الطاولة",),
    ("يمشي الطلاب في ساحة المدرسة", "يجلسون تحت شجرة كبيرة", "تقترب الكاميرا من كتاب مفتوح"),
)


@dataclass
class Board:
    file_id: int
    video_id: int
    storyboard_id: int
    shot_ids: list[int] = field(default_factory=list)
    frames: list[list[int]] = field(default_factory=list)  # frame ids per shot, in order

    @property
    def frame_ids(self) -> list[int]:
        return [fid for shot in self.frames for fid in shot]


def make_board(
    session: Session,
    shots: tuple[tuple[str, ...], ...] | list[list[str]] = ARABIC_SHOTS,
    *,
    course_title: str = "دورة التاريخ",
    video_title: str = "الدرس الأول: المدينة القديمة",
    source_file_id: int | None = None,
    video_position: int = 1,
) -> Board:
    """A script (or another video of an existing one) with one current storyboard of the given scene texts."""
    if source_file_id is None:
        source = SourceFile(sha256=uuid.uuid4().hex + uuid.uuid4().hex, original_name="course.docx",
                            stored_name=f"{uuid.uuid4().hex}.docx", size_bytes=1234, title=course_title)
        session.add(source)
        session.flush()
        source_file_id = source.id
    video = Video(source_file_id=source_file_id, position=video_position, number=video_position,
                  title=video_title, header_text=video_title, body="\n".join(" ".join(s) for s in shots))
    session.add(video)
    session.flush()
    board = Storyboard(video_id=video.id, version=1, is_current=True, shots_requested=len(shots),
                       frames_requested=max(len(s) for s in shots))
    session.add(board)
    session.flush()
    result = Board(file_id=source_file_id, video_id=video.id, storyboard_id=board.id)
    for s_pos, texts in enumerate(shots, start=1):
        shot = Shot(storyboard_id=board.id, position=s_pos, summary=texts[0][:80], narration_text=" ".join(texts))
        session.add(shot)
        session.flush()
        result.shot_ids.append(shot.id)
        ids = []
        for f_pos, text in enumerate(texts, start=1):
            frame = Frame(shot_id=shot.id, position=f_pos, scene_text=text)
            session.add(frame)
            session.flush()
            ids.append(frame.id)
        result.frames.append(ids)
    return result
