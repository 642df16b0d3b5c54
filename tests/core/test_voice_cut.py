"""Timing from the voice and the narrated cut: once shots are voiced, their audio sets the cut, the captions,
the shot list and the clip length; the animatic carries the narration track; the editor timeline gets the audio."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import opentimelineio as otio
import pytest

from core.exports import captions
from core.exports.data import VideoRow, collect_script
from core.exports.runner import ExportOptions, run_export
from core.exports.shotlist import shot_list_csv
from core.catalog import OFFLINE_MODELS
from core.jobs import planning
from core.models import Shot
from core.runtime import Runtime
from tests.core.voice_factory import voiced_script

WPM = 600.0
SMALL = ExportOptions(wpm=WPM, width=160, height=90, fps=10)


def _voiced(rt: Runtime, *, voice: int) -> tuple[Any, VideoRow]:
    """A script of 3 shots (the first with a clip), the first `voice` of them voiced by the fake OpenAI voice."""
    return voiced_script(rt, voice=voice)


def _audio_seconds_and_level(path: Path) -> tuple[float, float, str]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        codec = stream.codec_context.name
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
    samples = np.concatenate(chunks)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return samples.size / stream.rate, rms, codec


def test_voiced_shots_take_their_audio_length_everywhere_and_others_stay_estimated(sqlite_runtime: Runtime) -> None:
    ids, video = _voiced(sqlite_runtime, voice=2)
    timings = captions.shot_timings(video.shots, wpm=WPM)
    assert [t.estimated for t in timings] == [False, False, True]
    for shot, timing in zip(video.shots[:2], timings):
        assert shot.voice_duration_s and timing.duration == pytest.approx(shot.voice_duration_s, abs=0.002)
    assert timings[2].duration == pytest.approx(captions.narration_seconds(video.shots[2].narration, wpm=WPM))
    # Caption cues sit inside their shot's audio, and a voiced shot's last cue ends with its audio.
    cues = captions.caption_cues(video, wpm=WPM)
    for timing in timings[:2]:
        inside = [c for c in cues if timing.start - 1e-3 <= c.start < timing.end]
        assert inside and inside[-1].end == pytest.approx(timing.end, abs=0.002)
    # The shot list says how long each shot is and whether that is the voice or a guess.
    rows = list(csv.DictReader(io.StringIO(shot_list_csv(
        collect_script_snapshot(sqlite_runtime, ids.file_id), wpm=WPM).decode("utf-8-sig"))))
    assert [r["timed by"] for r in rows] == ["narration audio", "narration audio", "estimate (words per minute)"]
    assert float(rows[0]["duration s"]) == pytest.approx(video.shots[0].voice_duration_s, abs=0.01)
    # The clip length choice follows the audio too (the offline renderer takes whole seconds).
    with sqlite_runtime.sessions() as s:
        shot = s.get(Shot, ids.shot_ids[1])
        chosen = planning.clip_duration(shot, settings=sqlite_runtime.settings, provider="offline",
                                        model=OFFLINE_MODELS["clip"])
        assert chosen == max(1, int(video.shots[1].voice_duration_s + 0.5))  # type: ignore[operator]


def collect_script_snapshot(rt: Runtime, file_id: int) -> Any:
    with rt.sessions() as s:
        return collect_script(s, file_id, data_dir=rt.data_dir)


def test_narrated_cut_carries_the_narration_and_captions_end_with_it(sqlite_runtime: Runtime) -> None:
    ids, video = _voiced(sqlite_runtime, voice=3)
    total = sum(s.voice_duration_s or 0 for s in video.shots)
    with sqlite_runtime.sessions() as s:
        (path,) = run_export(s, "animatic", settings=sqlite_runtime.settings, file_id=ids.file_id,
                             options=ExportOptions(wpm=WPM, width=160, height=90, fps=10, subtitles=True))
    seconds, rms, codec = _audio_seconds_and_level(path)
    assert codec == "aac"
    assert seconds == pytest.approx(total, abs=0.5)
    assert rms > 0.02  # the narration is audible in the cut, not silence
    with av.open(str(path)) as container:
        picture = container.streams.video[0]
        assert float(picture.duration * picture.time_base) == pytest.approx(total, abs=0.5)
    cues = captions.caption_cues(video, wpm=WPM)
    assert cues[-1].end == pytest.approx(total, abs=0.01)  # the captions end with the audio


def test_animatic_without_audio_stays_silent(sqlite_runtime: Runtime) -> None:
    ids, _ = _voiced(sqlite_runtime, voice=0)
    with sqlite_runtime.sessions() as s:
        (path,) = run_export(s, "animatic", settings=sqlite_runtime.settings, file_id=ids.file_id, options=SMALL)
    with av.open(str(path)) as container:
        assert not container.streams.audio


def test_timeline_has_the_narration_track_and_caption_markers_in_a_movable_bundle(sqlite_runtime: Runtime,
                                                                                   tmp_path: Path) -> None:
    ids, video = _voiced(sqlite_runtime, voice=2)
    with sqlite_runtime.sessions() as s:
        paths = run_export(s, "timeline", settings=sqlite_runtime.settings, file_id=ids.file_id, options=SMALL)
    by_ext = {p.suffix: p for p in paths}
    moved = tmp_path / "elsewhere"
    by_ext[".otio"].parent.rename(moved)  # another machine: only the exported folder travels
    timeline = otio.adapters.read_from_file(str(moved / by_ext[".otio"].name))
    audio = next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio)
    narration = [c for c in audio if isinstance(c, otio.schema.Clip)]
    assert len(narration) == 2 and isinstance(audio[2], otio.schema.Gap)
    for clip, shot in zip(narration, video.shots):
        media = moved / clip.media_reference.target_url
        assert media.read_bytes() == shot.voice_path.read_bytes()  # type: ignore[union-attr]
        assert clip.source_range.duration.to_seconds() == pytest.approx(shot.voice_duration_s, abs=0.1)
    markers = [m.name for t in timeline.tracks if t.name == "Captions" for g in t for m in g.markers]
    assert markers == [c.text for c in captions.caption_cues(video, wpm=WPM)]
    edl = (moved / by_ext[".edl"].name).read_text(encoding="ascii").splitlines()
    audio_events = [line for line in edl if line[:3].isdigit() and line.split()[2] == "A"]
    assert [e.split()[1] for e in audio_events] == ["S001A", "S002A"]


def test_voiced_shots_keep_their_narration_audio_through_a_project_archive(sqlite_runtime: Runtime,
                                                                          tmp_path: Path) -> None:
    from core.exports.archive import export_archive, import_archive
    from core.runtime import open_runtime
    from tests.conftest import make_test_settings

    ids, video = _voiced(sqlite_runtime, voice=2)
    with sqlite_runtime.sessions() as s:
        path = export_archive(s, ids.file_id, data_dir=sqlite_runtime.data_dir, out=tmp_path / "a.zip").path
    dst = open_runtime(make_test_settings(tmp_path / "dst" / "data", f"sqlite:///{tmp_path / 'dst.db'}"))
    try:
        with dst.sessions() as s:
            new_id = import_archive(s, path.read_bytes(), data_dir=dst.data_dir, actor="ed").source_file_id
            s.commit()
            moved = collect_script(s, new_id, data_dir=dst.data_dir).videos[0]
    finally:
        dst.engine.dispose()
    assert [s.voice_duration_s for s in moved.shots] == [s.voice_duration_s for s in video.shots]
    for before, after in zip(video.shots[:2], moved.shots):
        assert after.voice_path is not None and after.voice_path.read_bytes() == before.voice_path.read_bytes()  # type: ignore[union-attr]
        assert after.voice_freshness.state == "fresh"


def test_a_clip_rendered_before_its_shot_was_voiced_is_flagged_when_the_voice_sets_another_length(
        runtime: Runtime) -> None:
    """The clip was made for the words-per-minute guess; the narration audio now lasts longer, so a clip asked for
    now would last another accepted duration: the Clips page says so (and says nothing for a clip that fits)."""
    from sqlalchemy import select

    from core.db import session_scope
    from core.jobs import Worker, request_clip
    from core.models import Asset, Shot
    from core.jobs.planning import clips_out_of_step
    from tests.core.jobs_factory import make_board

    rt = runtime.__class__(settings=runtime.settings.model_copy(update={"allow_unapproved_clips": True,
                                                                        "clip_duration_s": 2}),
                           engine=runtime.engine, sessions=runtime.sessions)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=2, frames=1)
        for shot_id in board.shot_ids:
            request_clip(s, shot_id, settings=rt.settings)
    Worker(rt, concurrency=2, idle_s=0.05).run(drain=True)
    with session_scope(rt.sessions) as s:
        assert clips_out_of_step(s, board.video_id, settings=rt.settings) == {}  # nothing voiced yet
        for shot_id, seconds in zip(board.shot_ids, (9.0, None)):
            shot = s.get(Shot, shot_id)
            assert shot is not None and shot.selected_clip_id is not None
            if seconds is None:
                continue
            voice = Asset(kind="voice", shot_id=shot_id, sha256="v" * 64, storage_key="voices/x.wav",
                          content_type="audio/wav", size_bytes=10, duration_s=seconds)
            s.add(voice)
            s.flush()
            shot.selected_voice_id = voice.id
    with rt.sessions() as s:
        notes = clips_out_of_step(s, board.video_id, settings=rt.settings)
        had = s.scalars(select(Asset.duration_s).where(Asset.kind == "clip")).first()
    assert list(notes) == [board.shot_ids[0]], (notes, had)
    assert "now lasts 9.0 s" in notes[board.shot_ids[0]] and "Re-render" in notes[board.shot_ids[0]]
