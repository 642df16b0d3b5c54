"""Roles are enforced in core: who may do what, refusals write nothing, and the activity log names the person."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import cost, library, review
from core.activity import log_activity
from core.authz import (
    LOCAL_PRINCIPAL,
    Principal,
    Role,
    acting_as,
    current_principal,
    principal_for,
    require,
    set_principal_resolver,
)
from core.errors import GateError
from core.exports.archive import import_archive
from core.grid import EditSceneText, apply_grid_edits
from core.jobs import queue, takes
from core.models import Activity, Base, Frame, Job
from core.prompts import batch, style, versions
from core.prompts.offline import OfflineRefiner
from core.runtime import Runtime
from tests.conftest import make_test_settings
from tests.core.review_factory import add_job, make_script

PRODUCER = Principal("pat@studio.test", "Pat", frozenset({Role.PRODUCER}))
REVIEWER = Principal("rita@client.test", "Rita", frozenset({Role.REVIEWER}))
ADMIN_ONLY = Principal("ada@studio.test", "Ada", frozenset({Role.ADMIN}))


# ---- role mapping ---------------------------------------------------------------------------------------------

def test_roles_come_from_the_settings_lists_with_domain_wildcards(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path, auth_producers="pat@studio.test, *@makers.test",
                                  auth_reviewers="*@client.test", auth_admins="Ada@Studio.test,pat@studio.test")
    pat = principal_for("Pat@Studio.test", "Pat", settings)
    assert pat is not None and pat.roles == {Role.PRODUCER, Role.ADMIN} and pat.email == "pat@studio.test"
    assert pat.role_label == "producer + admin"
    maker = principal_for("sam@makers.test", None, settings)
    assert maker is not None and maker.roles == {Role.PRODUCER} and maker.name == "sam@makers.test"
    rita = principal_for("rita@client.test", "Rita", settings)
    assert rita is not None and rita.roles == {Role.REVIEWER} and rita.can("review") and not rita.can("render")
    ada = principal_for("ada@studio.test", "Ada", settings)
    assert ada is not None and ada.roles == {Role.ADMIN} and ada.can("admin") and not ada.can("edit")
    # A wildcard is one domain exactly: no subdomains, no look-alikes; unknown people are not let in.
    for stranger in ("eve@sub.client.test", "eve@client.test.evil", "eve@elsewhere.test", "client.test", "", None):
        assert principal_for(stranger, "Eve", settings) is None


def test_without_sign_in_everyone_is_the_local_producer_and_admin() -> None:
    assert current_principal() is LOCAL_PRINCIPAL
    assert all(LOCAL_PRINCIPAL.can(p) for p in ("refine", "render", "edit", "review", "admin"))
    with acting_as(REVIEWER):
        assert current_principal() is REVIEWER
        with acting_as(PRODUCER):
            assert require("render") is PRODUCER
        assert current_principal() is REVIEWER
    assert current_principal() is LOCAL_PRINCIPAL


def test_a_resolver_names_the_person_only_where_nobody_was_set() -> None:
    previous = set_principal_resolver(lambda: REVIEWER)
    try:
        assert current_principal() is REVIEWER
        with acting_as(PRODUCER):
            assert current_principal() is PRODUCER
        set_principal_resolver(lambda: None)  # outside a UI run the resolver finds nobody: local
        assert current_principal() is LOCAL_PRINCIPAL
    finally:
        set_principal_resolver(previous)


def test_a_refusal_says_who_and_what_in_words() -> None:
    with acting_as(REVIEWER), pytest.raises(GateError) as err:
        require("render")
    assert err.value.category == "forbidden"
    assert "rita@client.test" in str(err.value) and "reviewer" in str(err.value)
    assert "start renders" in str(err.value) and "admin" in str(err.value)


# ---- every guarded entry point refuses the wrong role and writes nothing --------------------------------------

Call = Callable[[Session, Runtime, dict[str, Any]], object]


def _docx() -> bytes:
    from tests.studio.conftest import arabic_docx

    return arabic_docx()


GUARDED: dict[str, tuple[Principal, Call]] = {
    "request_image": (REVIEWER, lambda s, rt, ids: queue.request_image(s, ids["frame"], settings=rt.settings)),
    "request_clip": (REVIEWER, lambda s, rt, ids: queue.request_clip(s, ids["shot"], settings=rt.settings)),
    "request_video_images": (REVIEWER, lambda s, rt, ids: queue.request_video_images(
        s, ids["video"], settings=rt.settings, force=True)),
    "request_video_clips": (REVIEWER, lambda s, rt, ids: queue.request_video_clips(
        s, ids["video"], settings=rt.settings, force=True)),
    "retry_job": (REVIEWER, lambda s, rt, ids: queue.retry_job(s, ids["failed_job"])),
    "cancel_job": (REVIEWER, lambda s, rt, ids: queue.cancel_job(s, ids["queued_job"])),
    "refine_frames": (REVIEWER, lambda s, rt, ids: batch.refine_frames(
        rt.sessions, [ids["frame"]], OfflineRefiner(), concurrency=2, force=True)),
    "add_manual_version": (REVIEWER, lambda s, rt, ids: versions.add_manual_version(
        s, ids["frame"], "A hand-written prompt", author="x")),
    "select_version": (REVIEWER, lambda s, rt, ids: versions.select_version(
        s, ids["frame"], ids["old_version"], actor="x")),
    "update_style_bible": (REVIEWER, lambda s, rt, ids: style.update_style_bible(s, ids["file"], palette="teal")),
    "apply_grid_edits": (REVIEWER, lambda s, rt, ids: apply_grid_edits(
        s, ids["board"], [EditSceneText(ids["frame"], "new text", ids["frame_version"])], actor="x")),
    "rebuild_storyboard": (REVIEWER, lambda s, rt, ids: library.rebuild_storyboard(
        s, ids["video"], shots=1, frames=1)),
    "set_current_storyboard": (REVIEWER, lambda s, rt, ids: library.set_current_storyboard(s, ids["board"])),
    "archive_script": (REVIEWER, lambda s, rt, ids: library.archive_script(s, ids["file"])),
    "restore_script": (REVIEWER, lambda s, rt, ids: library.restore_script(s, ids["archived_file"])),
    "ingest_file": (REVIEWER, lambda s, rt, ids: library.ingest_file(s, _docx(), "new.docx", settings=rt.settings)),
    "import_archive": (REVIEWER, lambda s, rt, ids: import_archive(s, b"not even a zip", data_dir=rt.data_dir)),
    "select_take": (REVIEWER, lambda s, rt, ids: takes.select_take(s, ids["other_take"], actor="x")),
    "discard_take": (REVIEWER, lambda s, rt, ids: takes.discard_take(s, ids["image"], actor="x")),
    "set_status": (ADMIN_ONLY, lambda s, rt, ids: review.set_status(s, "frame", ids["frame"], "in_review", actor="x")),
    "add_comment": (ADMIN_ONLY, lambda s, rt, ids: review.add_comment(s, "frame", ids["frame"], "hi", author="x")),
    "set_budget": (PRODUCER, lambda s, rt, ids: cost.set_budget(s, ids["file"], 12.0, actor="x")),
    "set_rate": (PRODUCER, lambda s, rt, ids: cost.set_rate(
        s, "higgsfield-ai/soul/standard", unit="image", credits=9.0, usd=0.9)),
    "reset_rate": (PRODUCER, lambda s, rt, ids: cost.reset_rate(s, "higgsfield-ai/soul/standard")),
}


def _seed(rt: Runtime) -> dict[str, Any]:
    """A script with prompts, images, a clip, a failed job, an older prompt version and an extra image take."""
    from core.models import Asset, PromptVersion

    with rt.sessions() as session:
        ids = make_script(session, rt.data_dir, shots=2, frames=2, clip_shots=1)
        frame = session.get(Frame, ids.frame_ids[0])
        assert frame is not None
        old = frame.selected_prompt_id
        newer = PromptVersion(frame_id=frame.id, number=2, text="A newer prompt", origin="manual", provider="manual",
                              input_hash="n" * 64)
        session.add(newer)
        session.flush()
        frame.selected_prompt_id = newer.id
        image = session.get(Asset, ids.image_asset_ids[0])
        assert image is not None
        other = Asset(kind="image", frame_id=frame.id, job_id=image.job_id, prompt_version_id=old, sha256="e" * 64,
                      storage_key=image.storage_key, content_type="image/png", size_bytes=1, provider="offline",
                      model=image.model)
        session.add(other)
        failed = add_job(session, "image", frame_id=ids.frame_ids[1], model="offline", status="failed")
        queued = add_job(session, "image", frame_id=ids.frame_ids[2], model="offline", status="pending")
        archived = make_script(session, rt.data_dir, shots=1, frames=1, with_images=False, clip_shots=0,
                               title="archived")
        library.archive_script(session, archived.file_id)
        session.commit()
        shot = frame.shot
        return {
            "file": ids.file_id, "video": ids.video_ids[0], "shot": ids.shot_ids[0], "frame": frame.id,
            "board": shot.storyboard_id, "frame_version": frame.lock_version, "old_version": old,
            "image": ids.image_asset_ids[0], "other_take": other.id, "failed_job": failed.id, "queued_job": queued.id,
            "archived_file": archived.file_id,
        }


def _everything(rt: Runtime) -> tuple[dict[str, list[tuple[Any, ...]]], list[str]]:
    """Every row of every table, and every file under the data dir: what a refused call must leave alone."""
    with rt.engine.connect() as conn:
        rows = {t.name: sorted(map(tuple, conn.execute(t.select()).all()), key=repr) for t in Base.metadata.sorted_tables}
    files = sorted(str(p.relative_to(rt.data_dir)) for p in rt.data_dir.rglob("*") if p.is_file())
    return rows, files


@pytest.mark.parametrize("entry_point", sorted(GUARDED))
def test_each_guarded_entry_point_refuses_the_wrong_role_and_writes_nothing(runtime: Runtime,
                                                                           entry_point: str) -> None:
    who, call = GUARDED[entry_point]
    ids = _seed(runtime)
    before = _everything(runtime)
    with runtime.sessions() as session, acting_as(who):
        with pytest.raises(GateError) as err:
            call(session, runtime, ids)
        assert err.value.category == "forbidden" and who.email in str(err.value)
        session.commit()  # even a commit after the refusal has nothing to write
    assert _everything(runtime) == before


def test_the_right_role_is_let_through_and_the_log_names_the_person(runtime: Runtime) -> None:
    ids = _seed(runtime)
    with runtime.sessions() as session:
        with acting_as(REVIEWER):
            review.set_status(session, "frame", ids["frame"], "in_review", actor="producer")
            review.add_comment(session, "frame", ids["frame"], "Looks good", author="Rita")
        with acting_as(PRODUCER):
            job = queue.request_image(session, ids["frame"], settings=runtime.settings, force=True, actor="producer")
        with acting_as(ADMIN_ONLY):
            cost.set_budget(session, ids["file"], 25.0, actor="")
        session.commit()
        assert session.get(Job, job.id) is not None
        actors = {a.action: a.actor for a in session.scalars(select(Activity).order_by(Activity.id))}
    # A signed-in person is recorded by e-mail even when the page passed the configured author name.
    assert actors["review.status"] == "rita@client.test"
    assert actors["review.comment"] == "rita@client.test"
    assert actors["render.requested"] == "pat@studio.test"
    assert [actor for action, actor in actors.items() if "budget" in action] == ["ada@studio.test"], actors


def test_what_a_signed_in_person_makes_records_them_not_the_local_author_name(runtime: Runtime) -> None:
    """Prompt versions, jobs and comments (not only the activity log) name the signed-in person, whatever name the
    page passed (the studio passes the configured author name)."""
    from core.models import Comment, PromptVersion
    from core.prompts.types import RefinedPrompt

    ids = _seed(runtime)
    with runtime.sessions() as session:
        with acting_as(PRODUCER):
            manual = versions.add_manual_version(session, ids["frame"], "A hand-written prompt", author="producer")
            refined = versions.add_refined_version(
                session, ids["frame"], RefinedPrompt(prompt="A refined prompt", negative_prompt="", shot_size="", camera="",
                               lighting="", style_notes=""), provider="offline", model="",
                template_version="t", input_hash="r" * 64, inputs={}, author="producer")
            job = queue.request_image(session, ids["frame"], settings=runtime.settings, force=True, actor="producer")
        with acting_as(REVIEWER):
            review.add_comment(session, "frame", ids["frame"], "Warmer light, please", author="producer")
            review.set_status(session, "frame", ids["frame"], "needs_changes", actor="producer",
                              comment="And a wider shot")
        session.commit()
        assert session.get(PromptVersion, manual.id).author == "pat@studio.test"
        assert session.get(PromptVersion, refined.id).author == "pat@studio.test"
        assert session.get(Job, job.id).requested_by == "pat@studio.test"
        authors = session.scalars(select(Comment.author).where(
            Comment.body.in_(["Warmer light, please", "And a wider shot"]))).all()
        assert authors == ["rita@client.test", "rita@client.test"]
    with runtime.sessions() as session:  # without sign-in the caller's name stands
        local = versions.add_manual_version(session, ids["frame"], "Local edit", author="Ed")
        assert local.author == "Ed"
        session.rollback()


def test_without_sign_in_the_log_keeps_the_callers_name_or_says_local(sqlite_runtime: Runtime) -> None:
    with sqlite_runtime.sessions() as session:
        named = log_activity(session, "test.named", actor="ed")
        anonymous = log_activity(session, "test.anonymous")
        session.commit()
        assert (named.actor, anonymous.actor) == ("ed", "local")
