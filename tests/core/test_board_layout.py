"""The partitioning builder (core.board_layout) and the offline plan that dresses it."""

from __future__ import annotations

import random

import pytest

from core.board_layout import Density, apportion, balanced_cuts, layout_board, narration_seconds
from core.errors import ValidationError
from core.planner.offline import OfflinePlanner, offline_plan
from core.planner.types import PlanRequest
from core.planner.validate import plan_problems


def _sentences(n: int, *, seed: int = 1, words: tuple[int, int] = (5, 20)) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(f"w{rng.randint(1, 999)}" for _ in range(rng.randint(*words))) + f" s{i}." for i in range(n)]


def _flat(layout) -> list[tuple[int, int]]:
    return [span for shot in layout.shots for span in shot]


def _partitions(layout, n: int) -> bool:
    spans = _flat(layout)
    return bool(spans) and spans[0][0] == 0 and spans[-1][1] == n and all(
        a < b for a, b in spans) and all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 11, 12, 13, 40, 200])
@pytest.mark.parametrize("shots, frames", [(4, 3), (1, 1), (2, 5), (6, 2)])
def test_every_sentence_is_in_exactly_one_frame_and_the_grid_is_never_padded(n: int, shots: int,
                                                                             frames: int) -> None:
    layout = layout_board(_sentences(n), Density(shots=shots, frames=frames))
    assert _partitions(layout, n)
    assert layout.frame_count == min(n, shots * frames)
    assert len(layout.shots) == min(n, shots)
    assert all(1 <= len(shot) <= frames for shot in layout.shots)
    assert ("instead of" in layout.note or n == 1) if n < shots * frames else layout.note == ""


def test_a_one_sentence_video_is_one_shot_of_one_frame_with_a_note() -> None:
    layout = layout_board(["Welcome."], Density())
    assert layout.shots == (((0, 1),),)
    assert "one sentence" in layout.note and "4 × 3" in layout.note


def test_no_shot_or_frame_runs_across_a_scene() -> None:
    sentences = _sentences(30)
    scenes = [0, 4, 5, 17]
    layout = layout_board(sentences, Density(), scene_starts=scenes)
    assert _partitions(layout, 30)
    for shot in layout.shots:
        a, b = shot[0][0], shot[-1][1]
        assert not any(a < cut < b for cut in scenes)
    # the one-sentence scene 5..5 is a shot of its own
    assert ((4, 5),) in layout.shots


def test_more_scenes_than_shots_asked_gives_a_shot_per_scene_and_says_so() -> None:
    layout = layout_board(_sentences(12), Density(shots=2, frames=3), scene_starts=[3, 6, 9])
    assert len(layout.shots) == 4 and _partitions(layout, 12)
    assert "4 scenes" in layout.note


@pytest.mark.parametrize("minutes", [1, 5, 20, 40])
def test_paced_frame_counts_follow_the_narration_length(minutes: int) -> None:
    words = minutes * 130
    sentences = _sentences(words // 12 + 1, words=(12, 12))
    total_words = sum(len(s.split()) for s in sentences)
    density = Density(kind="paced", pace_s=6, frames=3)
    layout = layout_board(sentences, density)
    expected = round(narration_seconds(total_words) / 6)
    assert layout.frame_count == min(len(sentences), expected)
    assert all(len(shot) <= 3 for shot in layout.shots)
    assert len(layout.shots) == -(-layout.frame_count // 3)
    assert _partitions(layout, len(sentences))
    # Frames hold about the same stretch of narration: none more than twice the pace (sentences are 13 words).
    for a, b in _flat(layout):
        assert narration_seconds(sum(len(s.split()) for s in sentences[a:b])) <= 2 * 6 + 6


def test_paced_boards_grow_with_the_video_and_a_longer_pace_gives_fewer_frames() -> None:
    short, long_ = _sentences(20), _sentences(400)
    d = Density(kind="paced", pace_s=5)
    assert layout_board(long_, d).frame_count > 10 * layout_board(short, d).frame_count
    assert layout_board(long_, Density(kind="paced", pace_s=10)).frame_count < layout_board(long_, d).frame_count
    # a 40-minute video gets far more than the fixed 12 frames
    assert layout_board(long_, d).frame_count > 12 == layout_board(long_, Density()).frame_count


def test_paced_never_repeats_a_sentence_to_reach_its_pace() -> None:
    layout = layout_board(["One very long sentence " * 40 + "."], Density(kind="paced", pace_s=2))
    assert layout.frame_count == 1 and "instead of" in layout.note


@pytest.mark.parametrize("kw, words", [
    ({"kind": "dense"}, "fixed"), ({"shots": 0}, "shots"), ({"frames": 51}, "frames"),
    ({"kind": "paced"}, "seconds"), ({"kind": "paced", "pace_s": -1}, "seconds"),
])
def test_bad_densities_are_refused_in_words(kw: dict, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Density(**kw)


def test_cuts_and_shares_respect_their_bounds() -> None:
    for n in range(1, 30):
        weights = [random.Random(n).randint(1, 30) for _ in range(n)]
        for parts in range(1, n + 1):
            cuts = balanced_cuts(weights, parts)
            assert len(cuts) == parts + 1 and cuts[0] == 0 and cuts[-1] == n
            assert all(a < b for a, b in zip(cuts, cuts[1:]))
    assert apportion(10, [1, 1, 8], [1, 1, 1], [5, 5, 5]) == [2, 3, 5] or \
        apportion(10, [1, 1, 8], [1, 1, 1], [5, 5, 5]) == [3, 2, 5]
    assert apportion(3, [5, 5, 5], [1, 1, 1], [1, 1, 1]) == [1, 1, 1]


def test_the_offline_plan_shows_directions_where_they_stand_and_never_repeats_a_picture() -> None:
    sentences = ["Hello.", "Hello.", "We start.", "Data comes first.", "Then models."]
    reply = offline_plan(sentences, Density(shots=2, frames=3),
                         directions=[(0, "Scene: a classroom"), (3, "On screen: a chart")])
    assert plan_problems(reply, 5) == []
    pictures = [k.description for s in reply.shots for k in s.keyframes]
    beats = [k.beat for s in reply.shots for k in s.keyframes]
    assert beats == sentences
    assert pictures[0] == "Scene: a classroom" and pictures[3] == "On screen: a chart"
    assert len({p.casefold() for p in pictures}) == len(pictures)  # the repeated "Hello." is told apart


def test_the_offline_planner_reads_density_and_scenes_from_the_request() -> None:
    req = PlanRequest(sentences=tuple(_sentences(50)), density="paced", pace_s=10, frames=2, scene_starts=(25,))
    reply = OfflinePlanner().plan(req)
    assert plan_problems(reply, 50) == []
    assert any(s.first_sentence == 26 for s in reply.shots)
    assert all(len(s.keyframes) <= 2 for s in reply.shots)
