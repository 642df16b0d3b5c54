"""Captions, animatic and editor timelines share one timing rule; each file is opened back and checked."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from core.exports import captions
from core.exports.animatic import AnimaticOptions, render_animatic
from core.exports.data import collect_script
from core.exports.runner import ExportOptions, run_export
from core.runtime import Runtime
from tests.core.review_factory import ARABIC_NARRATION, make_script

WPM = 600.0  # fast narration keeps the media tests short: 10 words → 1 s


@pytest.fixture
def video(sqlite_runtime: Runtime):
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, shots=3, frames=2, clip_shots=1)
        session.commit()
        snapshot = collect_script(session, ids.file_id, data_dir=sqlite_runtime.data_dir)
    return sqlite_runtime, ids, snapshot.videos[0]


def test_timing_rule_follows_the_narration_length() -> None:
    assert captions.narration_seconds("one two three four five six", wpm=120) == pytest.approx(3.0)
    assert captions.narration_seconds("", wpm=120) == captions.MIN_SHOT_S
    assert captions.narration_seconds("word " * 100, wpm=200) == pytest.approx(30.0)
    assert captions.speaking_rate(object()) == captions.DEFAULT_WPM


def test_captions_srt_and_vtt_parse_back_on_the_shot_timing(video, tmp_path: Path) -> None:
    rt, ids, v = video
    with rt.sessions() as session:
        paths = run_export(session, "captions", settings=rt.settings, file_id=ids.file_id,
                           options=ExportOptions(wpm=WPM))
    srt, vtt = sorted(paths, key=lambda p: p.suffix)
    assert srt.name == "v01.srt" and vtt.name == "v01.vtt"
    assert vtt.read_text(encoding="utf-8").startswith("WEBVTT\n")
    cues = captions.parse_captions(srt.read_text(encoding="utf-8"))
    assert cues == captions.parse_captions(vtt.read_text(encoding="utf-8"))
    # Shot 1 narrates two Arabic sentences, shots 2 and 3 two English ones each.
    assert [c.text for c in cues[:2]] == ARABIC_NARRATION.replace("الدورة. ", "الدورة.|").split("|")
    assert len(cues) == 6
    timings = captions.shot_timings(v.shots, wpm=WPM)
    assert cues[0].start == 0 and cues[-1].end == pytest.approx(timings[-1].end, abs=0.002)
    assert cues[1].end == pytest.approx(timings[0].end, abs=0.002)  # shot 1's cues end with shot 1
    assert all(a.end == pytest.approx(b.start, abs=0.002) for a, b in itertools.pairwise(cues))


def test_long_sentences_become_two_line_cues() -> None:
    from core.exports.data import ShotRow, VideoRow

    sentence = " ".join(f"word{i}" for i in range(40)) + "."
    shot = ShotRow(1, 1, "", sentence, "draft", (), None, None)
    cues = captions.caption_cues(VideoRow(1, 1, 1, "t", "", "", (shot,)), wpm=120)
    assert len(cues) > 1
    assert all(len(line) <= 2 * captions.MAX_LINE_CHARS for c in cues for line in c.text.split("\n"))
    assert all(c.text.count("\n") <= 1 for c in cues)
    assert " ".join(c.text.replace("\n", " ") for c in cues) == sentence


def test_animatic_duration_and_size_follow_the_narration(video, tmp_path: Path) -> None:
    _, _, v = video
    options = AnimaticOptions(width=160, height=96, fps=10, wpm=WPM, subtitles=True)
    result = render_animatic(v, tmp_path / "a.mp4", options=options)
    expected = captions.shot_timings(v.shots, wpm=WPM)[-1].end
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 96)
        frames = list(container.decode(stream))
    assert len(frames) == result.frames == round(expected * 10)
    assert frames[-1].time + 0.1 == pytest.approx(expected, abs=0.11)
    # Shot 2 has no clip: its stills push in, so consecutive frames differ.
    shot2_start = round(captions.shot_timings(v.shots, wpm=WPM)[1].start * 10)
    a, b = (frames[shot2_start + k].to_image() for k in (0, 3))
    assert a.tobytes() != b.tobytes()


def test_animatic_of_a_shot_without_images_is_a_card(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, shots=1, frames=1, with_images=False, clip_shots=0)
        [path] = run_export(session, "animatic", settings=sqlite_runtime.settings, video_id=ids.video_ids[0],
                            out=tmp_path / "card.mp4",
                            options=ExportOptions(wpm=WPM, width=128, height=72, fps=5))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert float(container.duration / av.time_base) == pytest.approx(captions.MIN_SHOT_S, abs=0.25)
        assert (stream.codec_context.width, stream.codec_context.height) == (128, 72)


def test_otio_and_edl_reference_the_clips(video) -> None:
    rt, ids, v = video
    with rt.sessions() as session:
        paths = run_export(session, "timeline", settings=rt.settings, file_id=ids.file_id,
                           options=ExportOptions(wpm=WPM, fps=25))
    by_ext = {p.suffix: p for p in paths}
    timeline = otio.adapters.read_from_file(str(by_ext[".otio"]))
    expected = captions.shot_timings(v.shots, wpm=WPM)[-1].end
    assert timeline.duration().to_seconds() == pytest.approx(expected, abs=0.04)
    clips = list(timeline.find_clips())
    first = clips[0]
    assert first.metadata["course_visual_studio"]["shot"] == 1
    assert first.metadata["course_visual_studio"]["kind"] == "clip"
    # Bundled: the media sit in a folder beside the .otio, referenced relatively (opens on another machine).
    url = first.media_reference.target_url
    assert not url.startswith(("file:", "/")) and url.startswith(f"{by_ext['.otio'].stem}_media/")
    clip_file = by_ext[".otio"].parent / url
    assert clip_file.read_bytes() == v.shots[0].clip_path.read_bytes()
    assert {c.metadata["course_visual_studio"]["kind"] for c in clips[1:]} == {"still"}

    edl = by_ext[".edl"].read_text(encoding="ascii").splitlines()
    events = [line for line in edl if line[:3].isdigit()]
    assert edl[1] == "FCM: NON-DROP FRAME" and len(events) == len(clips)
    assert events[0].split()[-2] == "01:00:00:00"
    # Record times are contiguous: each event starts where the previous one ended.
    assert all(a.split()[-1] == b.split()[-2] for a, b in itertools.pairwise(events))
    assert f"* FROM CLIP NAME: {clip_file.name}" in edl
