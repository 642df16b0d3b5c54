"""The checks a plan passes before it may be stored. Pure: a reply in, a list of readable problems out.

Rules: at least one shot; the shots' sentence ranges, in the order given, cover sentences 1..n exactly once each
(no sentence dropped, repeated or moved out of order); every shot size and camera move is in the fixed vocabulary;
every shot has at least one keyframe description, and no more keyframes than were asked for. An empty narration is planned by nobody (the offline board stays).
"""

from __future__ import annotations

from core.planner.types import CAMERA_MOVES, SHOT_SIZES, ShotPlanReply


def normalize_term(value: str) -> str:
    """Lower-case, single spaces, hyphens as the vocabulary spells them ('Push-in' → 'push in')."""
    text = " ".join(value.strip().lower().replace("_", " ").split())
    return text if text in SHOT_SIZES else text.replace("-", " ").replace("close up", "close-up")


def plan_problems(reply: ShotPlanReply, sentence_count: int, *, max_keyframes: int | None = None) -> list[str]:
    """Every reason the plan cannot be stored, in reading order; empty when it is valid. `max_keyframes`: the
    keyframes a shot may have (what the producer asked for: each is rendered, and paid for)."""
    problems: list[str] = []
    if sentence_count == 0:
        return ["the video has no narration to plan"]
    if not reply.shots:
        return ["the plan has no shots"]
    expected = 1
    for number, shot in enumerate(reply.shots, start=1):
        first, last = shot.first_sentence, shot.last_sentence
        if first > last:
            problems.append(f"shot {number}: first sentence {first} comes after its last sentence {last}")
        elif first < expected:
            problems.append(f"shot {number}: sentences {first}-{last} repeat or go back before sentence {expected}")
        elif first > expected:
            missing = f"{expected}" if first - 1 == expected else f"{expected}-{first - 1}"
            problems.append(f"shot {number}: sentence(s) {missing} are dropped (shot starts at {first})")
        if last > sentence_count:
            problems.append(f"shot {number}: sentence {last} does not exist (the narration has {sentence_count})")
        expected = max(expected, min(last, sentence_count) + 1)
        if normalize_term(shot.shot_size) not in SHOT_SIZES:
            problems.append(f"shot {number}: shot size {shot.shot_size!r} is not one of: {', '.join(SHOT_SIZES)}")
        if normalize_term(shot.camera_move) not in CAMERA_MOVES:
            problems.append(f"shot {number}: camera move {shot.camera_move!r} is not one of: {', '.join(CAMERA_MOVES)}")
        if not any(k.description.strip() for k in shot.keyframes):
            problems.append(f"shot {number}: no keyframe description")
        elif max_keyframes is not None and len(shot.keyframes) > max_keyframes:
            problems.append(f"shot {number}: {len(shot.keyframes)} keyframes, but at most {max_keyframes} were asked "
                            "for (start, middle, end)")
    if expected <= sentence_count:
        rest = f"{expected}" if expected == sentence_count else f"{expected}-{sentence_count}"
        problems.append(f"sentence(s) {rest} are in no shot")
    return problems


def normalized(reply: ShotPlanReply) -> ShotPlanReply:
    """The reply with its sizes and moves spelled as the vocabulary spells them (call after a clean check)."""
    return ShotPlanReply(shots=tuple(
        shot.model_copy(update={"shot_size": normalize_term(shot.shot_size),
                                "camera_move": normalize_term(shot.camera_move)})
        for shot in reply.shots))
