"""`POST /prompts/generate` over HTTP on SQLite and PostgreSQL, with the offline refiner."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from core.models import Frame
from core.runtime import Runtime
from tests.api.conftest import arabic_script, upload


def _extract(client: TestClient) -> dict[str, Any]:
    resp = upload(client, arabic_script(videos=2, sentences=4), shots=2, frames=2)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_generate_refines_a_video_then_reuses(client: TestClient) -> None:
    script = _extract(client)
    file_id = script["file_id"]
    frames_v2 = [f["id"] for s in script["videos"][1]["shots"] for f in s["frames"]]

    first = client.post("/prompts/generate", json={"file_id": file_id, "video_number": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["video_id"] == script["videos"][1]["id"]
    assert body["provider"] == "offline"
    assert (body["refined"], body["reused"], body["failed"]) == (4, 0, 0)
    assert [p["frame_id"] for p in body["prompts"]] == frames_v2
    assert all(p["text"] and not p["reused"] and p["selected"] for p in body["prompts"])
    assert all(p["provider"] == "offline" for p in body["prompts"])

    again = client.post("/prompts/generate", json={"file_id": file_id, "video_number": 2}).json()
    assert (again["refined"], again["reused"]) == (0, 4)
    assert [p["id"] for p in again["prompts"]] == [p["id"] for p in body["prompts"]]
    assert all(p["reused"] for p in again["prompts"])

    forced = client.post("/prompts/generate", json={"file_id": file_id, "video_number": 2, "force": True}).json()
    assert forced["refined"] == 4
    assert {p["number"] for p in forced["prompts"]} == {2}

    storyboard = client.get(f"/files/{file_id}/storyboard").json()
    selected = [f["selected_prompt_id"] for s in storyboard["videos"][1]["shots"] for f in s["frames"]]
    assert selected == [p["id"] for p in forced["prompts"]]
    assert all(f["selected_prompt_id"] is None for s in storyboard["videos"][0]["shots"] for f in s["frames"])


def test_generate_one_frame_and_skip_locked(client: TestClient, runtime: Runtime) -> None:
    script = _extract(client)
    file_id = script["file_id"]
    frame_ids = [f["id"] for s in script["videos"][0]["shots"] for f in s["frames"]]

    one = client.post("/prompts/generate", json={"file_id": file_id, "video_number": 1, "frame_id": frame_ids[1]})
    assert one.status_code == 200
    assert [p["frame_id"] for p in one.json()["prompts"]] == [frame_ids[1]]

    with runtime.sessions.begin() as session:
        session.execute(update(Frame).where(Frame.id == frame_ids[0]).values(review_status="locked"))
    rest = client.post("/prompts/generate", json={"file_id": file_id, "video_number": 1}).json()
    assert (rest["refined"], rest["reused"], rest["skipped"]) == (2, 1, 1)
    assert frame_ids[0] not in [p["frame_id"] for p in rest["prompts"]]


def test_generate_errors(client: TestClient) -> None:
    script = _extract(client)
    file_id = script["file_id"]
    other_video_frame = script["videos"][1]["shots"][0]["frames"][0]["id"]
    cases = [
        ({"file_id": 999, "video_number": 1}, 404, "not_found"),
        ({"file_id": file_id, "video_number": 7}, 404, "not_found"),
        ({"file_id": file_id, "video_number": 1, "frame_id": other_video_frame}, 404, "not_found"),
        ({"file_id": file_id}, 422, "invalid"),
        ({"file_id": file_id, "video_number": 1, "colour": "red"}, 422, "invalid"),
        ({"file_id": "one", "video_number": 1}, 422, "invalid"),
    ]
    for payload, status, category in cases:
        resp = client.post("/prompts/generate", json=payload)
        assert resp.status_code == status, (payload, resp.text)
        assert resp.json()["category"] == category
