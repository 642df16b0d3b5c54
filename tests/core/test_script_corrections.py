"""The producer's corrections of a misread script: flip a table, mark a line; the storyboard follows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import NotFoundError, ValidationError
from core.library import current_storyboard, ingest_file, list_storyboards, list_videos, rebuild_storyboard
from core.models import Shot, SourceFile
from core.runtime import Runtime
from core.script_corrections import flip_table, mark_line, script_tables
from core.sentences import split_sentences
from tests.core.docx_factory import make_docx

SAID = ["Welcome to the lab where we train models.", "Today we look at the data first and clean it.",
        "Then we split it into a training and a test set."]
SEEN = ["Wide: the lab", "Close: a spreadsheet", "Graphic: two boxes"]


def _ingest(runtime: Runtime, blocks: list) -> tuple[int, list[int]]:
    with runtime.sessions() as s:
        result = ingest_file(s, make_docx(blocks), "c.docx", settings=runtime.settings)
        s.commit()
        return result.source_file_id, list(result.video_ids)


def _narration(runtime: Runtime, video_id: int) -> str:
    with runtime.sessions() as s:
        return " ".join(sh.narration for sh in current_storyboard(s, video_id).shots)


def test_flipping_a_misread_table_swaps_what_is_said_and_what_is_seen(runtime: Runtime) -> None:
    # No header row, and the picture column holds the longer cells: the rules read it the wrong way round.
    long_seen = [f"{d} with many details described at length for the editor to follow closely" for d in SEEN]
    short_said = ["Hello there.", "Look here.", "See this."]
    file_id, (video_id,) = _ingest(runtime, [("heading", "Video 1: Lab"),
                                             ("table", [list(r) for r in zip(short_said, long_seen)])])
    with runtime.sessions() as s:
        tables = script_tables(s, file_id, settings=runtime.settings)
        assert [(t.number, t.narration, t.flipped) for t in tables] == [(1, (1,), False)]
    assert "editor" in _narration(runtime, video_id)
    with runtime.sessions() as s:
        result = flip_table(s, file_id, 1, settings=runtime.settings, actor="tester")
        s.commit()
        assert result.changed_video_ids == (video_id,) and result.versions == {video_id: 2}
        video = list_videos(s, file_id)[0]
        assert video.body.split("\n") == short_said
        assert [d["text"] for d in video.directions] == long_seen
        assert all(d["table"] == 1 for d in video.directions)
        assert s.get(SourceFile, file_id).ingest_overrides["flipped_tables"] == [1]  # type: ignore[union-attr]
        board = current_storyboard(s, video_id)
        assert [d for sh in board.shots for d in sh.directions] == long_seen
        # The old version still shows what it showed (its narration frozen before the body changed).
        old = list_storyboards(s, video_id)[0]
        assert "editor" in " ".join(sh.narration for sh in old.shots)
    assert split_sentences(_narration(runtime, video_id)) == short_said
    with runtime.sessions() as s:  # flipping again gives the first reading back, as a new version
        flip_table(s, file_id, 1, settings=runtime.settings)
        s.commit()
        assert current_storyboard(s, video_id).version == 3
    assert "editor" in _narration(runtime, video_id)


def test_marking_lines_moves_them_between_narration_and_directions(runtime: Runtime) -> None:
    file_id, (video_id,) = _ingest(runtime, [
        ("heading", "Video 1: Lab"), ("para", SAID[0]), ("para", "Music: the theme, which we hum together now."),
        ("para", "The camera is our friend, so look into it."), ("para", SAID[1]),
        ("para", "[Visual: the data] " + SAID[2]),
    ])
    with runtime.sessions() as s:
        video = list_videos(s, file_id)[0]
        assert [d["text"] for d in video.directions] == ["Music: the theme, which we hum together now.",
                                                         "Visual: the data"]
        mark_line(s, file_id, "Music: the theme, which we hum together now.", "narration", settings=runtime.settings)
        mark_line(s, file_id, "The camera is our friend, so look into it.", "direction", settings=runtime.settings)
        mark_line(s, file_id, "Visual: the data", "narration", settings=runtime.settings)
        s.commit()
        video = list_videos(s, file_id)[0]
        assert "hum together" in video.body and "camera is our friend" not in video.body
        assert "[Visual: the data]" in video.body
        assert [d["text"] for d in video.directions] == ["The camera is our friend, so look into it."]
        assert current_storyboard(s, video_id).version == 4  # one new version per correction
    assert "hum together" in _narration(runtime, video_id)
    with runtime.sessions() as s:  # "auto" gives the line back to the rules
        mark_line(s, file_id, "Music: the theme, which we hum together now.", "auto", settings=runtime.settings)
        s.commit()
        assert "hum together" not in list_videos(s, file_id)[0].body


def test_a_correction_keeps_the_density_of_the_board_it_replaces(runtime: Runtime) -> None:
    sentences = " ".join(f"Sentence number {i} of the long narration goes here." for i in range(40))
    file_id, (video_id,) = _ingest(runtime, [("heading", "Video 1: Long"), ("para", sentences),
                                             ("para", "On screen: a chart of the results")])
    with runtime.sessions() as s:
        rebuild_storyboard(s, video_id, shots=4, frames=2, density="paced", pace_s=5)
        s.commit()
        mark_line(s, file_id, "On screen: a chart of the results", "narration", settings=runtime.settings)
        s.commit()
        board = current_storyboard(s, video_id)
        assert (board.density, board.pace_s, board.frames_requested) == ("paced", 5.0, 2)
        assert all(len(sh.frames) <= 2 for sh in board.shots)


def test_an_unchanged_video_keeps_its_board_and_bad_requests_are_refused(runtime: Runtime) -> None:
    file_id, (one, two) = _ingest(runtime, [
        ("heading", "Video 1: A"), ("para", SAID[0]), ("para", "Shot: the lab"),
        ("heading", "Video 2: B"), ("para", SAID[1]),
    ])
    with runtime.sessions() as s:
        result = mark_line(s, file_id, "Shot: the lab", "narration", settings=runtime.settings)
        s.commit()
        assert result.changed_video_ids == (one,)
        assert current_storyboard(s, two).version == 1
        with pytest.raises(NotFoundError, match="no table 3"):
            flip_table(s, file_id, 3, settings=runtime.settings)
        with pytest.raises(ValidationError):
            mark_line(s, file_id, "Shot: the lab", "scene", settings=runtime.settings)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            mark_line(s, 999, "x", "narration", settings=runtime.settings)
        assert all(sh.narration_end is not None for sh in s.scalars(select(Shot)) if sh.storyboard.is_current)
