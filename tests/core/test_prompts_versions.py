"""Versions, selection, staleness and the style bible, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import GateError, NotFoundError, ValidationError
from core.models import Activity, Frame, PromptVersion
from core.prompts.batch import refine_frames
from core.prompts.context import build_request, prompt_staleness, staleness_for_frames
from core.prompts.offline import OFFLINE_TEMPLATE_VERSION, OfflineRefiner
from core.prompts.openai_refiner import OpenAIRefiner, RetryPolicy
from core.prompts.style import get_style_bible, update_style_bible
from core.prompts.versions import (
    add_manual_version,
    diff_versions,
    get_version,
    list_versions,
    select_version,
    word_diff,
)
from core.runtime import Runtime
from tests.core.prompt_fixtures import Board, make_board
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A fresh local OpenAI-compatible server per test, stopped afterwards."""
    with FakeOpenAIServer() as server:
        yield server

SECRET = "sk-versions-SECRET-4242"


def _board(runtime: Runtime) -> Board:
    with session_scope(runtime.sessions) as session:
        return make_board(session)


def _refine(runtime: Runtime, ids: list[int], refiner: object = None, **kw: object):  # type: ignore[no-untyped-def]
    return refine_frames(runtime.sessions, ids, refiner or OfflineRefiner(), concurrency=4, **kw)  # type: ignore[arg-type]


def _set_scene(runtime: Runtime, frame_id: int, text: str) -> None:
    with session_scope(runtime.sessions) as session:
        session.get(Frame, frame_id).scene_text = text  # type: ignore[union-attr]


def _selected_number(runtime: Runtime, frame_id: int) -> int | None:
    with session_scope(runtime.sessions) as session:
        frame = session.get(Frame, frame_id)
        assert frame is not None
        return session.get(PromptVersion, frame.selected_prompt_id).number if frame.selected_prompt_id else None


def test_first_refine_creates_selected_version_with_provenance(runtime: Runtime) -> None:
    board = _board(runtime)
    summary = _refine(runtime, board.frame_ids)
    assert (summary.refined, summary.failed) == (len(board.frame_ids), 0)
    with session_scope(runtime.sessions) as session:
        for fid in board.frame_ids:
            (version,) = list_versions(session, fid)
            assert version.number == 1 and version.origin == "refined"
            assert (version.provider, version.model, version.template_version) == ("offline", "builtin", OFFLINE_TEMPLATE_VERSION)
            assert len(version.input_hash) == 64
            assert set(version.inputs["hashes"]) == {"scene", "context", "style", "template"}
            assert session.get(Frame, fid).selected_prompt_id == version.id  # type: ignore[union-attr]
            assert prompt_staleness(session, fid).state == "fresh"
        actions = [a.action for a in session.scalars(select(Activity))]
        assert actions == ["prompts.refined"]


def test_unchanged_inputs_are_reused_and_not_sent(runtime: Runtime, openai_server: FakeOpenAIServer) -> None:
    board = _board(runtime)
    refiner = OpenAIRefiner(api_key=SECRET, model="gpt-test", base_url=openai_server.base_url,
                            retry=RetryPolicy(max_attempts=1))
    ids = board.frames[0]
    assert _refine(runtime, ids, refiner).refined == 3
    assert len(openai_server.requests) == 3

    again = _refine(runtime, ids, refiner)
    assert (again.refined, again.reused) == (0, 3)
    assert len(openai_server.requests) == 3, "unchanged inputs must not be sent again"

    forced = _refine(runtime, ids, refiner, force=True)
    assert forced.refined == 3 and len(openai_server.requests) == 6
    with session_scope(runtime.sessions) as session:
        assert [v.number for v in list_versions(session, ids[0])] == [1, 2]
        # The key is nowhere in the store: not in stored inputs, prompts or the activity log.
        stored = [(v.text, v.inputs, v.author) for v in session.scalars(select(PromptVersion))]
        stored += [(a.action, a.detail) for a in session.scalars(select(Activity))]
        assert stored and SECRET not in json.dumps(stored, ensure_ascii=False, default=str)


def test_other_provider_is_not_reused(runtime: Runtime, openai_server: FakeOpenAIServer) -> None:
    board = _board(runtime)
    fid = board.frames[1][0]
    _refine(runtime, [fid])
    refiner = OpenAIRefiner(api_key="sk-x", model="gpt-test", base_url=openai_server.base_url)
    assert _refine(runtime, [fid], refiner).refined == 1
    with session_scope(runtime.sessions) as session:
        assert [v.provider for v in list_versions(session, fid)] == ["offline", "openai"]


def test_scene_edit_makes_prompt_stale_then_refine_fixes_it(runtime: Runtime) -> None:
    board = _board(runtime)
    first, second, third = board.frames[0]
    _refine(runtime, board.frame_ids)
    _set_scene(runtime, second, "يشرح المعلم الدرس باستخدام خريطة")
    with session_scope(runtime.sessions) as session:
        own = prompt_staleness(session, second)
        neighbour = prompt_staleness(session, first)
        far = prompt_staleness(session, board.frames[2][2])
    assert own.stale and own.changed == ("scene",)
    assert "scene text" in own.describe()
    assert neighbour.stale and neighbour.changed == ("context",), "continuity: a neighbour's text is context"
    assert far.state == "fresh"
    with session_scope(runtime.sessions) as session:
        grid = staleness_for_frames(session, [*board.frame_ids, 999_999])
    assert sorted(f for f, st in grid.items() if st.stale) == sorted([first, second, third])
    assert 999_999 not in grid

    summary = _refine(runtime, board.frame_ids)
    assert (summary.refined, summary.reused) == (3, len(board.frame_ids) - 3)  # the edited frame + 2 neighbours
    with session_scope(runtime.sessions) as session:
        assert all(prompt_staleness(session, f).state == "fresh" for f in (first, second, third))
        assert _selected_number(runtime, second) == 2


def test_style_bible_edit_makes_every_prompt_stale(runtime: Runtime) -> None:
    board = _board(runtime)
    _refine(runtime, board.frame_ids)
    with session_scope(runtime.sessions) as session:
        update_style_bible(session, board.file_id, actor="lina", palette="deep blues and brass",
                           characters="a young woman presenter with a red scarf")
    with session_scope(runtime.sessions) as session:
        states = [prompt_staleness(session, fid) for fid in board.frame_ids]
        entry = session.scalars(select(Activity).where(Activity.action == "style_bible.updated")).one()
    assert all(s.stale and s.changed == ("style",) for s in states)
    assert entry.actor == "lina" and sorted(entry.detail["fields"]) == ["characters", "palette"]

    _refine(runtime, board.frame_ids)
    with session_scope(runtime.sessions) as session:
        text = list_versions(session, board.frame_ids[0])[-1].text
        assert "deep blues and brass" in text and "red scarf" in text
        assert prompt_staleness(session, board.frame_ids[0]).state == "fresh"


def test_template_change_is_reported(runtime: Runtime) -> None:
    board = _board(runtime)
    fid = board.frame_ids[0]
    _refine(runtime, [fid])
    with session_scope(runtime.sessions) as session:
        version = list_versions(session, fid)[0]
        # A version made under an older template: its stored hash part is what staleness compares.
        version.inputs = {**version.inputs, "hashes": {**version.inputs["hashes"], "template": "offline-0"}}
    with session_scope(runtime.sessions) as session:
        assert prompt_staleness(session, fid).changed == ("template",)


def test_manual_version_is_selected_and_survives_batches(runtime: Runtime) -> None:
    board = _board(runtime)
    fid = board.frames[0][1]
    _refine(runtime, [fid])
    with session_scope(runtime.sessions) as session:
        manual = add_manual_version(session, fid, "A teacher writes on a chalkboard, 35mm, warm light",
                                    author="omar", negative_prompt="text")
        assert (manual.number, manual.origin, manual.provider, manual.author) == (2, "manual", "manual", "omar")
        assert manual.based_on_id == list_versions(session, fid)[0].id
    assert _selected_number(runtime, fid) == 2

    # The scene changes: a batch adds a refined version but must not displace the producer's own words.
    _set_scene(runtime, fid, "يرسم المعلم دائرة على السبورة")
    with session_scope(runtime.sessions) as session:
        assert prompt_staleness(session, fid).changed == ("scene",)
    _refine(runtime, [fid])
    assert _selected_number(runtime, fid) == 2
    with session_scope(runtime.sessions) as session:
        assert [v.origin for v in list_versions(session, fid)] == ["refined", "manual", "refined"]
        # Never updated in place: the manual text is exactly what was written.
        assert get_version(session, fid, 2).text == "A teacher writes on a chalkboard, 35mm, warm light"
    _refine(runtime, [fid], force=True)
    assert _selected_number(runtime, fid) == 4, "an explicit forced refine selects the new version"


def test_manual_staleness_ignores_context_changes(runtime: Runtime) -> None:
    board = _board(runtime)
    first, second, _ = board.frames[0]
    with session_scope(runtime.sessions) as session:
        add_manual_version(session, second, "hand written prompt", author="omar")
    _set_scene(runtime, first, "نص جديد للإطار الأول")
    with session_scope(runtime.sessions) as session:
        assert prompt_staleness(session, second).state == "fresh"
    _set_scene(runtime, second, "نص جديد للإطار الثاني")
    with session_scope(runtime.sessions) as session:
        assert prompt_staleness(session, second).changed == ("scene",)


def test_select_restores_older_version_and_logs(runtime: Runtime) -> None:
    board = _board(runtime)
    fid = board.frame_ids[0]
    _refine(runtime, [fid])
    with session_scope(runtime.sessions) as session:
        add_manual_version(session, fid, "edited prompt", author="omar")
        v1 = get_version(session, fid, 1)
        select_version(session, fid, v1.id, actor="omar")
    assert _selected_number(runtime, fid) == 1
    with session_scope(runtime.sessions) as session:
        entry = session.scalars(select(Activity).where(Activity.action == "prompt.selected")).one()
        assert entry.detail == {"version": 1, "previous": 2} and entry.subject_id == fid
        other = board.frame_ids[1]
        with pytest.raises(NotFoundError):
            select_version(session, other, v1.id, actor="omar")
        assert len(list_versions(session, fid)) == 2


def test_locked_frames_refuse_edits_and_batches_skip_them(runtime: Runtime) -> None:
    board = _board(runtime)
    locked, approved, free = board.frames[0]
    _refine(runtime, [locked])
    with session_scope(runtime.sessions) as session:
        session.get(Frame, locked).review_status = "locked"  # type: ignore[union-attr]
        session.get(Frame, approved).review_status = "approved"  # type: ignore[union-attr]
    with session_scope(runtime.sessions) as session:
        with pytest.raises(GateError, match="locked"):
            add_manual_version(session, locked, "new words", author="omar")
        with pytest.raises(GateError):
            select_version(session, locked, list_versions(session, locked)[0].id, actor="omar")

    summary = _refine(runtime, [locked, approved, free])
    assert (summary.skipped, summary.refined) == (2, 1)
    assert summary.outcomes == {locked: "skipped", approved: "skipped", free: "refined"}

    _set_scene(runtime, locked, "نص تغير بعد القفل")
    forced = _refine(runtime, [locked, approved], force=True)
    assert forced.refined == 2
    assert _selected_number(runtime, locked) == 1, "a locked frame's selection never moves"
    assert _selected_number(runtime, approved) == 1


def test_manual_version_validation(runtime: Runtime) -> None:
    board = _board(runtime)
    with session_scope(runtime.sessions) as session:
        with pytest.raises(ValidationError):
            add_manual_version(session, board.frame_ids[0], "   ", author="omar")
        with pytest.raises(NotFoundError):
            add_manual_version(session, 999_999, "text", author="omar")
        with pytest.raises(NotFoundError):
            get_version(session, board.frame_ids[0], 7)


def test_diff_versions_highlights_changed_words(runtime: Runtime) -> None:
    board = _board(runtime)
    fid = board.frame_ids[0]
    with session_scope(runtime.sessions) as session:
        add_manual_version(session, fid, "A wide shot of a busy market at dawn", author="omar")
        add_manual_version(session, fid, "A wide shot of a quiet market at dusk", author="omar")
        ops = diff_versions(session, fid, 1, 2)
    assert ops == [("equal", "A wide shot of a"), ("delete", "busy"), ("insert", "quiet"),
                   ("equal", "market at"), ("delete", "dawn"), ("insert", "dusk")]


def test_word_diff_reconstructs_both_sides() -> None:
    a = "Close-up of   an old map, 85mm lens, warm light"
    b = "Close-up of an old city map, 100mm macro lens, warm light, no text"
    ops = word_diff(a, b)
    assert " ".join(t for op, t in ops if op != "insert") == " ".join(a.split())
    assert " ".join(t for op, t in ops if op != "delete") == " ".join(b.split())
    assert {op for op, _ in ops} == {"equal", "insert", "delete"}
    assert word_diff("same words", "same  words") == [("equal", "same words")]


def test_style_bible_default_and_validation(runtime: Runtime) -> None:
    board = _board(runtime)
    with session_scope(runtime.sessions) as session:
        before = build_request(session, board.frame_ids[0])
        bible = get_style_bible(session, board.file_id)
        assert bible.visual_style and bible.aspect_ratio == "16:9"
        # Creating the default row does not change what a request contains (so nothing goes stale).
        assert build_request(session, board.frame_ids[0]) == before
        with pytest.raises(ValidationError, match="Unknown style bible field"):
            update_style_bible(session, board.file_id, actor="x", font="Amiri")
        with pytest.raises(ValidationError, match="aspect ratio"):
            update_style_bible(session, board.file_id, actor="x", aspect_ratio="7:5")
        with pytest.raises(NotFoundError):
            get_style_bible(session, 999_999)
        update_style_bible(session, board.file_id, actor="x", aspect_ratio="9:16")
    with session_scope(runtime.sessions) as session:
        assert build_request(session, board.frame_ids[0]).style.aspect_ratio == "9:16"


# ---- two people saving a hand-written prompt for one frame at once (issue 13 item 11) ---------------------------

def test_two_people_saving_a_prompt_at_once_both_get_a_version(runtime: Runtime, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """Both read the same next number before either inserts (a barrier holds them there): neither sees a raw
    database error, both texts are stored under distinct numbers. On SQLite the write lock taken first serialises
    them (the barrier then times out); on PostgreSQL the loser's insert is retried with the next number."""
    import threading

    from core.prompts import versions as versions_module

    board = _board(runtime)
    frame_id = board.frame_ids[0]
    barrier = threading.Barrier(2, timeout=3)
    real_next = versions_module._next_number
    waited: set[int] = set()

    def racing_next(session: object, fid: int) -> int:
        number = real_next(session, fid)  # type: ignore[arg-type]
        if threading.get_ident() not in waited:  # only the first read of each writer waits for the other
            waited.add(threading.get_ident())
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return number

    monkeypatch.setattr(versions_module, "_next_number", racing_next)
    errors: list[BaseException] = []
    made: list[int] = []

    def save(text: str) -> None:
        try:
            with session_scope(runtime.sessions) as session:
                made.append(add_manual_version(session, frame_id, text, author=text).number)
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever a writer met
            errors.append(exc)

    writers = [threading.Thread(target=save, args=(f"Hand-written prompt by writer {i}",)) for i in (1, 2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=60)
    assert errors == []
    with session_scope(runtime.sessions) as session:
        stored = {v.text: v.number for v in list_versions(session, frame_id)}
    assert {"Hand-written prompt by writer 1", "Hand-written prompt by writer 2"} <= set(stored)
    assert sorted(made) == sorted({stored["Hand-written prompt by writer 1"], stored["Hand-written prompt by writer 2"]})
    assert len(set(stored.values())) == len(stored)


def test_a_save_that_keeps_losing_the_race_is_a_typed_conflict(runtime: Runtime,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """When every number it tries is taken by the time it inserts, the writer gets a ConflictError that says the
    text is kept (the page leaves it in the form), not "Something unexpected went wrong"."""
    from core.errors import ConflictError
    from core.prompts import versions as versions_module

    board = _board(runtime)
    frame_id = board.frame_ids[0]
    _refine(runtime, [frame_id])
    monkeypatch.setattr(versions_module, "_next_number", lambda session, fid: 1)  # always a taken number
    with session_scope(runtime.sessions) as session:
        with pytest.raises(ConflictError, match="kept"):
            add_manual_version(session, frame_id, "My carefully typed prompt", author="ed")
