from core.planner.offline import OfflinePlanner
from core.planner.types import KeyframePlan, PlannedShot, PlanRequest, ShotPlanReply
from core.planner.validate import plan_problems


def _shot(a, b, move="push in"):
    return PlannedShot(first_sentence=a, last_sentence=b, shot_size="wide", camera_move=move,
                       keyframes=(KeyframePlan(description="x"),))


def test_a_plan_that_drops_repeats_or_reorders_sentences_is_refused():
    assert plan_problems(ShotPlanReply(shots=(_shot(1, 2), _shot(3, 5))), 5) == []
    assert any("dropped" in p for p in plan_problems(ShotPlanReply(shots=(_shot(1, 2), _shot(4, 5))), 5))
    assert any("repeat" in p for p in plan_problems(ShotPlanReply(shots=(_shot(1, 3), _shot(3, 5))), 5))
    assert plan_problems(ShotPlanReply(shots=(_shot(3, 5), _shot(1, 2))), 5)
    assert any("in no shot" in p for p in plan_problems(ShotPlanReply(shots=(_shot(1, 2),)), 5))
    assert any("camera move" in p for p in plan_problems(ShotPlanReply(shots=(_shot(1, 5, "zoom"),)), 5))


def test_the_offline_plan_always_partitions_the_narration():
    for n in range(1, 12):
        for shots in range(1, 6):
            req = PlanRequest(sentences=tuple(f"sentence {i}." * (i % 3 + 1) for i in range(n)), shots=shots)
            assert plan_problems(OfflinePlanner().plan(req), n) == []
