"""The diff of two storyboard versions: shots matched by their narration, changed fields and keyframes named,
shots that split or merged shown as removed and added."""

from __future__ import annotations

import pytest

from core.db import session_scope
from core.errors import ValidationError
from core.library import current_storyboard, ingest_file, list_storyboards
from core.planner.types import KeyframePlan, PlannedShot, ShotPlanReply
from core.runtime import Runtime
from core.storyboard_diff import diff_storyboards
from core.storyboard_store import store_plan
from tests.core.docx_factory import make_docx

SENTENCES = ["One cell.", "Two membranes.", "Three nuclei.", "Four mitochondria."]


def _shot(a: int, b: int, move: str, *frames: str) -> PlannedShot:
    return PlannedShot(first_sentence=a, last_sentence=b, shot_size="wide", camera_move=move,
                       keyframes=tuple(KeyframePlan(description=f) for f in frames))


def _store(runtime: Runtime, video_id: int, *shots: PlannedShot) -> int:
    with session_scope(runtime.sessions) as s:
        return store_plan(s, video_id, ShotPlanReply(shots=shots), planner="openai", model="m",
                          template_version="plan-1", density="fixed", pace_s=None, input_hash="h").id


def test_changed_added_and_removed_shots_are_named(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        video_id = ingest_file(s, make_docx([("heading", "Video 1: Cells"), ("para", " ".join(SENTENCES))]),
                               "cells.docx", settings=runtime.settings).video_ids[0]
    old = _store(runtime, video_id, _shot(1, 2, "static", "a cell", "a membrane"),
                 _shot(3, 4, "pan left", "a nucleus"))
    new = _store(runtime, video_id, _shot(1, 2, "push in", "a cell", "a glowing membrane"),
                 _shot(3, 3, "orbit", "a nucleus up close"), _shot(4, 4, "static", "mitochondria"))
    with session_scope(runtime.sessions) as s:
        diff = diff_storyboards(s, old, new)
        assert [d.kind for d in diff.shots] == ["changed", "removed", "added", "added"]
        first = diff.shots[0]
        assert "camera: static → push in" in first.changes
        assert "keyframe 2: a membrane → a glowing membrane" in first.changes
        assert diff.summary() == f"Version {diff.old_version} → {diff.new_version}: 1 changed, 2 added, 1 removed " \
                                 "shot(s)."
        same = diff_storyboards(s, new, new)
        assert same.summary().endswith("show the same shots.")
        assert len(list_storyboards(s, video_id)) == 3 and current_storyboard(s, video_id).id == new


def test_only_versions_of_one_video_compare(runtime: Runtime) -> None:
    data = make_docx([("heading", "Video 1: A"), ("para", "One. Two."), ("heading", "Video 2: B"), ("para", "Three.")])
    with session_scope(runtime.sessions) as s:
        a, b = ingest_file(s, data, "two.docx", settings=runtime.settings).video_ids
        boards = current_storyboard(s, a).id, current_storyboard(s, b).id
    with pytest.raises(ValidationError), session_scope(runtime.sessions) as s:
        diff_storyboards(s, *boards)
