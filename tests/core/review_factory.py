"""Builds a small script directly with the models (plus real PNG and MP4 files) for review, cost and export tests.

Independent of the ingest, prompt and render modules on purpose: those tests must not break when a sibling
module changes how it builds storyboards.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image
from sqlalchemy.orm import Session

from core.assets import AssetStore
from core.hashing import sha256_bytes
from core.models import Asset, Comment, Frame, Job, PromptVersion, Shot, SourceFile, Storyboard, Video

ARABIC_SCENE = "معلم يشرح الدرس أمام السبورة"
ARABIC_NARRATION = "مرحبا بكم في هذه الدورة. سنتعلم اليوم أساسيات التصميم."
COLOURS = [(200, 60, 60), (60, 160, 80), (60, 90, 200), (220, 180, 40), (150, 70, 170), (40, 170, 170)]


@dataclass
class ScriptIds:
    file_id: int
    video_ids: list[int] = field(default_factory=list)
    shot_ids: list[int] = field(default_factory=list)  # all videos, in order
    frame_ids: list[int] = field(default_factory=list)
    clip_asset_ids: list[int] = field(default_factory=list)
    image_asset_ids: list[int] = field(default_factory=list)


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (320, 180)) -> bytes:
    img = Image.new("RGB", size, colour)
    # A white block in one corner, so a push-in or a resize is visible in the pixels.
    img.paste((255, 255, 255), (0, 0, size[0] // 4, size[1] // 4))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def mp4_bytes(colour: tuple[int, int, int], *, seconds: float = 0.5, size: tuple[int, int] = (160, 96),
              fps: int = 10) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(max(1, int(seconds * fps))):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, colour))
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def make_script(
    session: Session,
    data_dir: Path,
    *,
    videos: int = 1,
    shots: int = 2,
    frames: int = 2,
    with_images: bool = True,
    clip_shots: int = 1,
    budget_usd: float | None = None,
    title: str = "دورة التصميم — Design basics",
) -> ScriptIds:
    """A script with `videos` × `shots` × `frames`, selected prompts, images on every frame and a clip on the
    first `clip_shots` shots of each video, with succeeded jobs behind every asset."""
    store = AssetStore(data_dir)
    digest = uuid.uuid4().hex * 2
    source = SourceFile(sha256=digest, original_name="course.docx", stored_name=f"sources/{digest}.docx",
                        size_bytes=10, title=title, preface="", warnings=[], budget_usd=budget_usd)
    session.add(source)
    session.flush()
    ids = ScriptIds(file_id=source.id)
    n = 0
    for v in range(1, videos + 1):
        video = Video(source_file_id=source.id, position=v, number=v, title=f"الفيديو {v}: Intro",
                      header_text=f"الفيديو {v}", body=ARABIC_NARRATION)
        session.add(video)
        session.flush()
        ids.video_ids.append(video.id)
        board = Storyboard(video_id=video.id, version=1, is_current=True, shots_requested=shots,
                           frames_requested=frames)
        session.add(board)
        session.flush()
        for s in range(1, shots + 1):
            narration = ARABIC_NARRATION if s == 1 else f"Shot {s} narration. It has two sentences."
            shot = Shot(storyboard_id=board.id, position=s, summary=f"shot {s}", narration_text=narration)
            session.add(shot)
            session.flush()
            ids.shot_ids.append(shot.id)
            for f in range(1, frames + 1):
                n += 1
                frame = Frame(shot_id=shot.id, position=f, scene_text=ARABIC_SCENE if f == 1 else f"Scene {s}.{f}")
                session.add(frame)
                session.flush()
                ids.frame_ids.append(frame.id)
                prompt = PromptVersion(frame_id=frame.id, number=1, text=f"A teacher at a whiteboard, v{v} s{s} f{f}",
                                       origin="refined", provider="offline", input_hash="h" * 64)
                session.add(prompt)
                session.flush()
                frame.selected_prompt_id = prompt.id
                if with_images:
                    data = png_bytes(COLOURS[n % len(COLOURS)])
                    job = _job(session, "image", frame_id=frame.id, model="higgsfield-ai/soul/standard",
                               cost=0.094)
                    asset = Asset(kind="image", frame_id=frame.id, job_id=job.id, prompt_version_id=prompt.id,
                                  sha256=sha256_bytes(data),
                                  storage_key=store.put(data, "png"), content_type="image/png",
                                  size_bytes=len(data), width=320, height=180, provider="offline",
                                  model="higgsfield-ai/soul/standard")
                    session.add(asset)
                    session.flush()
                    frame.selected_image_id = asset.id
                    ids.image_asset_ids.append(asset.id)
            if s <= clip_shots:
                data = mp4_bytes(COLOURS[s % len(COLOURS)])
                job = _job(session, "clip", shot_id=shot.id, model="kling-video/v2.1/pro/image-to-video",
                           cost=None, params={"duration": 5})
                asset = Asset(kind="clip", shot_id=shot.id, job_id=job.id,
                              sha256=sha256_bytes(data),
                              storage_key=store.put(data, "mp4"), content_type="video/mp4", size_bytes=len(data),
                              width=160, height=96, duration_s=5.0, provider="offline",
                              model="kling-video/v2.1/pro/image-to-video")
                session.add(asset)
                session.flush()
                shot.selected_clip_id = asset.id
                ids.clip_asset_ids.append(asset.id)
    session.add(Comment(subject_type="frame", subject_id=ids.frame_ids[0], author="client", body="الإضاءة جميلة"))
    session.flush()
    return ids


def _job(session: Session, kind: str, *, frame_id: int | None = None, shot_id: int | None = None, model: str,
         cost: float | None, params: dict[str, object] | None = None, status: str = "succeeded") -> Job:
    job = Job(kind=kind, frame_id=frame_id, shot_id=shot_id, provider="higgs", model=model, params=params or {},
              input_hash=uuid.uuid4().hex, status=status, idempotency_key=uuid.uuid4().hex, cost_usd=cost)
    session.add(job)
    session.flush()
    return job


def add_job(session: Session, kind: str, *, frame_id: int | None = None, shot_id: int | None = None,
            model: str, cost: float | None = None, status: str = "succeeded",
            params: dict[str, object] | None = None) -> Job:
    return _job(session, kind, frame_id=frame_id, shot_id=shot_id, model=model, cost=cost, params=params,
                status=status)
