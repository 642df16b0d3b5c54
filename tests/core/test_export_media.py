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


def _timeline(rt, file_id: int) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """The default timeline export (the .otio with its media folder, and the EDL), by file extension."""
    with rt.sessions() as session:
        paths = run_export(session, "timeline", settings=rt.settings, file_id=file_id,
                           options=ExportOptions(wpm=WPM, fps=25))
    return {p.suffix: p for p in paths}


def test_otio_and_edl_reference_the_clips(video) -> None:
    rt, ids, v = video
    by_ext = _timeline(rt, ids.file_id)
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


def _narration_edited(rt: Runtime, shot_id: int) -> None:
    from core.models import Shot

    with rt.sessions() as session:
        session.get(Shot, shot_id).narration_text = "New words the old audio never said."
        session.commit()


def test_the_timeline_is_one_otioz_file_that_opens_anywhere_with_every_medium_inside(runtime: Runtime,
                                                                                    tmp_path: Path) -> None:
    """What a producer downloads from the browser: one file; an editor elsewhere opens it and nothing is offline."""
    import stat
    import zipfile

    from tests.core.voice_factory import voiced_script

    ids, v = voiced_script(runtime, voice=2)
    with runtime.sessions() as session:
        result = run_export(session, "timeline", settings=runtime.settings, file_id=ids.file_id,
                            options=ExportOptions(wpm=WPM, fps=25, formats=("otioz",)))
    assert [p.name for p in result] == ["v01.otioz"] and result.warnings == ()
    moved = tmp_path / "editor" / "lesson.otioz"  # another machine: only this one file travels
    moved.parent.mkdir()
    result[0].rename(moved)
    timeline = otio.adapters.read_from_file(str(moved))
    with zipfile.ZipFile(moved) as bundle:
        names = set(bundle.namelist())
        refs = [c.media_reference.target_url for c in timeline.find_clips()]
        assert refs and all(r in names for r in refs)  # every reference resolves inside the bundle
        expected = {s.clip_path for s in v.shots[:1]} | {s.voice_path for s in v.shots[:2]} | {
            f.image_path for s in v.shots[1:] for f in s.frames}
        assert {n for n in names if n.startswith("media/")} == {f"media/{p.name}" for p in expected}
        for path in expected:
            assert bundle.read(f"media/{path.name}") == path.read_bytes()
        audio = next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio)
        assert [c.media_reference.target_url for c in audio if isinstance(c, otio.schema.Clip)] == [
            f"media/{s.voice_path.name}" for s in v.shots[:2]]  # type: ignore[union-attr]
        # The EDL travels inside too, naming the bundled media (not the studio's store).
        edl = bundle.read("v01.edl").decode("ascii")
        sources = [line.split(": ", 1)[1] for line in edl.splitlines() if line.startswith("* SOURCE FILE:")]
        assert sources and all(s in names for s in sources)
        assert str(runtime.data_dir) not in edl
        # Readable by whoever unzips it, although the store keeps its files owner-only.
        assert stat.S_IMODE(v.shots[0].clip_path.stat().st_mode) == 0o600  # type: ignore[union-attr]
        assert {stat.S_IMODE(i.external_attr >> 16) for i in bundle.infolist()} == {0o644}
    # Unzipped, as an editor without OTIO's zip support would: the .otio's relative paths find the media.
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    otio.adapters.read_from_file(str(moved), extract_to_directory=str(unpacked))
    for ref in refs:
        assert (unpacked / ref).is_file()
    assert (unpacked / "content.otio").is_file()


def test_a_timeline_bundle_folder_is_readable_and_its_edl_names_the_bundled_media(video) -> None:
    import stat

    rt, ids, v = video
    by_ext = _timeline(rt, ids.file_id)
    assert set(by_ext) == {".otio", ".edl"}  # the CLI's default: the .otio with its media folder, and the EDL
    folder = by_ext[".otio"].parent / "v01_media"
    assert {stat.S_IMODE(f.stat().st_mode) for f in folder.iterdir()} == {0o644}
    assert stat.S_IMODE(v.shots[0].clip_path.stat().st_mode) == 0o600  # the store's own copy stays private
    edl = by_ext[".edl"].read_text(encoding="ascii")
    sources = [line.split(": ", 1)[1] for line in edl.splitlines() if line.startswith("* SOURCE FILE:")]
    assert sources and all(s.startswith("v01_media/") and (by_ext[".edl"].parent / s).is_file() for s in sources)
    # An EDL written alone has no bundle beside it: it names the studio's files.
    with rt.sessions() as session:
        [alone] = run_export(session, "timeline", settings=rt.settings, file_id=ids.file_id,
                             out=by_ext[".edl"].parent / "alone.edl", options=ExportOptions(wpm=WPM, fps=25))
    assert f"* SOURCE FILE: {v.shots[0].clip_path.resolve()}" in alone.read_text(encoding="ascii")


def test_narration_clips_never_run_past_their_audio(tmp_path: Path) -> None:
    """A 4.5 s take starting on a half frame spans 113 frames of the cut but holds 112.5: the clip takes 112."""
    from core.exports import timeline
    from core.exports.data import ShotRow, VideoRow

    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    shots = tuple(ShotRow(n, n, "", "Some words.", "draft", (), None, None, voice_path=wav, voice_duration_s=seconds)
                  for n, seconds in ((1, 2.1), (2, 4.5)))
    v = VideoRow(1, 1, 1, "t", "", "", shots)
    tl = timeline.build_otio(v, wpm=WPM, fps=25)
    audio = next(t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio)
    clips = [c for c in audio if isinstance(c, otio.schema.Clip)]
    assert [c.source_range.duration.value for c in clips] == [52, 112]  # floor(2.1 × 25), floor(4.5 × 25)
    assert all(c.source_range.duration <= c.media_reference.available_range.duration for c in clips)
    assert audio.duration() == tl.video_tracks()[0].duration()  # a frame of silence keeps A1 in step with V1
    edl = timeline.build_edl(v, wpm=WPM, fps=25).splitlines()
    audio_events = [line.split() for line in edl if line[:3].isdigit() and line.split()[2] == "A"]
    assert [e[5] for e in audio_events] == ["00:00:02:02", "00:00:04:12"]  # source out: 52 and 112 frames
    assert audio_events[1][6:] == ["01:00:02:02", "01:00:06:14"]  # record in + 112 frames, not + 113


def test_exports_say_which_shots_play_narration_audio_that_is_out_of_date(runtime: Runtime, tmp_path: Path,
                                                                         monkeypatch, capsys) -> None:
    from core.cli import main as cli_main
    from core.jobs.exports import ExportJobs
    from tests.core.voice_factory import voiced_script

    ids, v = voiced_script(runtime, voice=2)
    small = ExportOptions(wpm=WPM, width=160, height=90, fps=10)
    with runtime.sessions() as session:
        assert run_export(session, "timeline", settings=runtime.settings, file_id=ids.file_id,
                          options=small).warnings == ()
    _narration_edited(runtime, ids.shot_ids[1])
    for kind in ("timeline", "animatic", "captions"):
        with runtime.sessions() as session:
            result = run_export(session, kind, settings=runtime.settings, file_id=ids.file_id, options=small)
        [warning] = result.warnings
        assert warning.startswith("Video 1: the narration audio of shot 2 is out of date") and "shot 1" not in warning
    # Still used (better than silence): both narration clips stay on the timeline.
    otio_file = next(p for p in run_export_paths(runtime, ids.file_id, small) if p.suffix == ".otio")
    tl = otio.adapters.read_from_file(str(otio_file))  # kept in a name: its tracks live only as long as it does
    audio = next(t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio)
    assert len([c for c in audio if isinstance(c, otio.schema.Clip)]) == 2
    # The job the Exports page shows carries it…
    jobs = ExportJobs(runtime)
    done = jobs.wait(jobs.submit("timeline", file_id=ids.file_id, options=small).id, timeout_s=120)
    jobs.shutdown()
    assert done.status == "done" and len(done.warnings) == 1 and "shot 2" in done.warnings[0]
    # …and so does the CLI, on stderr, with the paths still alone on stdout.
    monkeypatch.setenv("STUDIO_DATA_DIR", str(runtime.data_dir))
    monkeypatch.setenv("DATABASE_URL", runtime.settings.db_url)
    out = tmp_path / "cli.otioz"
    assert cli_main(["export", "timeline", "--file", str(ids.file_id), "--out", str(out), "--wpm", str(WPM)]) == 0
    printed = capsys.readouterr()
    assert printed.out.split() == [str(out)] and out.is_file()
    assert printed.err.startswith("warning: Video 1: the narration audio of shot 2 is out of date")


def run_export_paths(rt: Runtime, file_id: int, options: ExportOptions) -> list[Path]:
    with rt.sessions() as session:
        return run_export(session, "timeline", settings=rt.settings, file_id=file_id, options=options)
