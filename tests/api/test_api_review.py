"""Review over the HTTP API (frames, shots, whole videos), on SQLite and PostgreSQL: the documented flow reaches a
clip instead of a 409, the studio's rules and roles hold, and a change after approval reads "changed"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.authz import Principal, Role, set_principal_resolver
from core.jobs import Worker
from core.models import Activity, Comment
from core.runtime import Runtime
from tests.api.conftest import arabic_script, upload


@pytest.fixture
def strict_runtime(make_runtime) -> Runtime:  # type: ignore[no-untyped-def]
    """The approval gate on (the module's default settings relax it for the rendering tests)."""
    return make_runtime(clip_duration_s=1)


@pytest.fixture
def api(strict_runtime: Runtime) -> Iterator[TestClient]:
    from core.api import create_app

    with TestClient(create_app(strict_runtime)) as client:
        yield client


def _script(api: TestClient) -> dict[str, Any]:
    body = upload(api, arabic_script(videos=1, sentences=4), shots=2, frames=2).json()
    refined = api.post("/prompts/generate", json={"file_id": body["file_id"], "video_number": 1})
    assert refined.status_code == 200, refined.text
    return api.get(f"/files/{body['file_id']}/storyboard").json()


def test_the_documented_flow_approves_the_video_and_gets_its_clip(api: TestClient, strict_runtime: Runtime) -> None:
    board = _script(api)
    video, shot = board["videos"][0], board["videos"][0]["shots"][0]
    refused = api.post("/generation/video", json={"shot_id": shot["id"]})
    assert refused.status_code == 409 and "not approved" in refused.json()["detail"]

    reviewed = api.post(f"/videos/{video['id']}/review", json={"status": "approved", "actor": "Client"})
    assert reviewed.status_code == 200, reviewed.text
    body = reviewed.json()
    assert (body["frames_approved"], body["frames_total"]) == (4, 4)
    assert (body["shots_approved"], body["shots_total"]) == (2, 2)
    assert {(m["subject_type"], m["from_status"], m["to_status"]) for m in body["moved"]} == {
        ("frame", "draft", "approved"), ("shot", "draft", "approved")}

    clip = api.post("/generation/video", json={"shot_id": shot["id"]})
    assert clip.status_code == 202, clip.text
    Worker(strict_runtime, concurrency=2, idle_s=0.05).run(drain=True)
    assert api.get(f"/jobs/{clip.json()['id']}").json()["status"] == "succeeded"
    with strict_runtime.sessions() as session:
        actors = set(session.scalars(select(Activity.actor).where(Activity.action == "review.status")))
    assert actors == {"Client"}


def test_frame_and_shot_review_follow_the_studio_rules(api: TestClient, strict_runtime: Runtime) -> None:
    board = _script(api)
    shot = board["videos"][0]["shots"][0]
    frame_id = shot["frames"][0]["id"]

    bare = api.post(f"/frames/{frame_id}/review", json={"status": "needs_changes"})
    assert bare.status_code == 409 and bare.json()["category"] == "gate" and "comment" in bare.json()["detail"]
    sent_back = api.post(f"/frames/{frame_id}/review", json={"status": "needs_changes", "comment": "Warmer light"})
    assert sent_back.status_code == 200
    assert (sent_back.json()["from_status"], sent_back.json()["to_status"]) == ("draft", "needs_changes")
    with strict_runtime.sessions() as session:
        comment = session.get(Comment, sent_back.json()["comment_id"])
        assert (comment.body, comment.author) == ("Warmer light", "api")

    early = api.post(f"/shots/{shot['id']}/review", json={"status": "approved"})
    assert early.status_code == 409 and "not approved yet" in early.json()["detail"]
    for f in shot["frames"]:
        assert api.post(f"/frames/{f['id']}/review", json={"status": "approved"}).status_code == 200
    assert api.post(f"/shots/{shot['id']}/review", json={"status": "approved"}).json()["review_status"] == "approved"
    locked = api.post(f"/shots/{shot['id']}/review", json={"status": "locked"})
    assert locked.status_code == 200 and locked.json()["to_status"] == "locked"

    assert api.post("/frames/999999/review", json={"status": "approved"}).status_code == 404
    assert api.post(f"/frames/{frame_id}/review", json={"status": "done"}).status_code == 422
    assert api.post(f"/frames/{frame_id}/review", json={"status": "approved", "x": 1}).status_code == 422


def test_a_change_after_approval_reads_changed_over_the_api(api: TestClient, strict_runtime: Runtime) -> None:
    from core.prompts.versions import add_manual_version

    board = _script(api)
    frame = board["videos"][0]["shots"][0]["frames"][0]
    assert api.post(f"/frames/{frame['id']}/review", json={"status": "approved"}).status_code == 200
    with strict_runtime.sessions() as session:  # someone edits the approved frame's prompt in the studio
        add_manual_version(session, frame["id"], "A wide shot of an empty classroom at night", author="ed")
        session.commit()

    def shown() -> dict[str, Any]:
        return api.get(f"/files/{board['file_id']}/storyboard").json()["videos"][0]["shots"][0]["frames"][0]

    assert shown()["review_status"] == "changed"
    clip = api.post("/generation/video", json={"shot_id": board["videos"][0]["shots"][0]["id"]})
    assert clip.status_code == 409  # what was approved is not what the clip would animate
    # Rendering the approved version again (it becomes the selected one) restores the approval.
    assert api.post("/generation/images", json={"prompt_id": frame["selected_prompt_id"]}).status_code == 202
    assert shown()["review_status"] == "approved"
    with strict_runtime.sessions() as session:  # and approving the edit as it is works too
        add_manual_version(session, frame["id"], "A wide shot of an empty classroom at night", author="ed")
        session.commit()
    again = api.post(f"/frames/{frame['id']}/review", json={"status": "approved"}).json()
    assert (again["from_status"], again["review_status"]) == ("changed", "approved")


def test_a_role_that_may_not_review_is_refused_with_403(api: TestClient) -> None:
    board = _script(api)
    frame_id = board["videos"][0]["shots"][0]["frames"][0]["id"]
    admin_only = Principal("ada@studio.test", "Ada", frozenset({Role.ADMIN}))
    previous = set_principal_resolver(lambda: admin_only)
    try:
        refused = api.post(f"/frames/{frame_id}/review", json={"status": "approved"})
    finally:
        set_principal_resolver(previous)
    assert refused.status_code == 403 and refused.json()["category"] == "forbidden"
    assert "ada@studio.test" in refused.json()["detail"]
    assert api.get(f"/files/{board['file_id']}/storyboard").json()["videos"][0]["shots"][0]["frames"][0][
        "review_status"] == "draft"
