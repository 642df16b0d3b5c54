"""`POST /generation/images`, `POST /generation/video`, `GET /jobs/{id}` over HTTP (jobs queued, not run)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from core.assets import AssetStore
from core.hashing import sha256_bytes
from core.models import Asset
from core.runtime import Runtime
from tests.api.conftest import arabic_script, upload


def _script_with_prompts(client: TestClient) -> dict[str, Any]:
    script: dict[str, Any] = upload(client, arabic_script(videos=1, sentences=4), shots=2, frames=2).json()
    resp = client.post("/prompts/generate", json={"file_id": script["file_id"], "video_number": 1})
    assert resp.status_code == 200, resp.text
    script["prompts"] = resp.json()["prompts"]
    return script


def test_image_jobs_are_queued_once(client: TestClient) -> None:
    script = _script_with_prompts(client)
    frame = script["videos"][0]["shots"][0]["frames"][0]

    first = client.post("/generation/images", json={"frame_id": frame["id"]})
    assert first.status_code == 202, first.text
    job = first.json()
    assert (job["kind"], job["status"], job["frame_id"]) == ("image", "pending", frame["id"])
    assert job["provider"] == "offline" and job["assets"] == []
    assert job["prompt_version_id"] == script["prompts"][0]["id"]

    again = client.post("/generation/images", json={"frame_id": frame["id"]})
    assert again.status_code == 202 and again.json()["id"] == job["id"]
    by_prompt = client.post("/generation/images", json={"prompt_id": script["prompts"][0]["id"]})
    assert by_prompt.json()["id"] == job["id"]  # the same render: same frame, same prompt version

    polled = client.get(f"/jobs/{job['id']}")
    assert polled.status_code == 200 and polled.json()["status"] == "pending"


def test_image_by_prompt_version_selects_it(client: TestClient) -> None:
    script = _script_with_prompts(client)
    frame_id = script["prompts"][1]["frame_id"]
    forced = client.post("/prompts/generate", json={"file_id": script["file_id"], "video_number": 1,
                                                    "frame_id": frame_id, "force": True}).json()
    newest = forced["prompts"][0]
    older = script["prompts"][1]
    assert newest["id"] != older["id"] and newest["selected"]

    resp = client.post("/generation/images", json={"prompt_id": older["id"]})
    assert resp.status_code == 202
    assert resp.json()["prompt_version_id"] == older["id"]
    frames = [f for s in client.get(f"/files/{script['file_id']}/storyboard").json()["videos"][0]["shots"]
              for f in s["frames"]]
    assert next(f for f in frames if f["id"] == frame_id)["selected_prompt_id"] == older["id"]


def test_image_request_errors(client: TestClient) -> None:
    script: dict[str, Any] = upload(client, arabic_script(videos=1, sentences=4), shots=2, frames=2).json()
    frame_id = script["videos"][0]["shots"][0]["frames"][0]["id"]
    no_prompt = client.post("/generation/images", json={"frame_id": frame_id})
    assert no_prompt.status_code == 422 and "prompt" in no_prompt.json()["detail"].lower()
    assert client.post("/generation/images", json={"frame_id": 99999}).json()["category"] == "not_found"
    assert client.post("/generation/images", json={"prompt_id": 99999}).status_code == 404
    assert client.post("/generation/images", json={}).status_code == 422


def test_clip_for_a_shot_waits_for_its_images(client: TestClient) -> None:
    script = _script_with_prompts(client)
    shot = script["videos"][0]["shots"][1]
    resp = client.post("/generation/video", json={"shot_id": shot["id"]})
    assert resp.status_code == 202, resp.text
    clip = resp.json()
    assert (clip["kind"], clip["shot_id"], clip["status"]) == ("clip", shot["id"], "pending")
    assert len(clip["depends_on"]) == 2  # the first and last frames' images are queued first
    for dep in clip["depends_on"]:
        image = client.get(f"/jobs/{dep}").json()
        assert image["kind"] == "image"
        assert image["frame_id"] in {f["id"] for f in shot["frames"]}
    assert client.post("/generation/video", json={"shot_id": shot["id"]}).json()["id"] == clip["id"]


def test_clip_request_validation(client: TestClient) -> None:
    bad = [
        {},
        {"shot_id": 1, "prompt": "zoom"},
        {"start_image_id": 1},
        {"start_image_id": 1, "start_image_url": "http://example.org/a.png", "prompt": "x"},
        {"start_image_id": 1, "end_image_id": 2, "end_image_url": "http://example.org/b.png", "prompt": "x"},
        {"start_image_url": "not a url", "prompt": "x"},
    ]
    for payload in bad:
        resp = client.post("/generation/video", json=payload)
        assert resp.status_code == 422, (payload, resp.text)
        assert resp.json()["category"] == "invalid"
    missing = client.post("/generation/video", json={"start_image_id": 424242, "prompt": "slow push-in"})
    assert missing.status_code == 404
    assert client.post("/generation/video", json={"shot_id": 424242}).status_code == 404


def test_asset_whose_file_is_gone_is_a_clear_404(client: TestClient, runtime: Runtime) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"not really rendered"
    store = AssetStore(runtime.settings.data_dir)
    key = store.put(data, "png")
    with runtime.sessions.begin() as session:
        asset = Asset(kind="image", sha256=sha256_bytes(data), storage_key=key, content_type="image/png",
                      size_bytes=len(data))
        session.add(asset)
        session.flush()
        asset_id = asset.id
    ok = client.get(f"/assets/{asset_id}")
    assert ok.status_code == 200 and ok.content == data and ok.headers["content-type"] == "image/png"
    store.path(key).unlink()
    gone = client.get(f"/assets/{asset_id}")
    assert gone.status_code == 404 and gone.json()["category"] == "missing"
    assert client.get("/assets/987654").json()["category"] == "not_found"


def test_parallel_requests_for_one_render_get_one_job_back(client: TestClient, runtime: Runtime) -> None:
    """Issue 13 item 2 over the API: parallel `POST /generation/images` for one frame (a double click, two tabs, a
    retrying script) and parallel clip requests for one shot each make one job; every caller gets that job."""
    from sqlalchemy import select

    from core.models import Job
    from tests.core.test_queue_guarantees import _race

    script = _script_with_prompts(client)
    shot = script["videos"][0]["shots"][0]
    frame_id = shot["frames"][0]["id"]

    def image() -> int:
        resp = client.post("/generation/images", json={"frame_id": frame_id})
        assert resp.status_code == 202, resp.text
        return int(resp.json()["id"])

    def clip() -> int:
        resp = client.post("/generation/video", json={"shot_id": shot["id"]})
        assert resp.status_code == 202, resp.text
        return int(resp.json()["id"])

    images = set(_race(10, image))
    clips = set(_race(10, clip))
    with runtime.sessions() as s:
        jobs = list(s.scalars(select(Job)))
    image_jobs = [j for j in jobs if j.kind == "image"]
    assert len(images) == 1 and len(clips) == 1
    assert len([j for j in jobs if j.kind == "clip"]) == 1 and {j.id for j in jobs if j.kind == "clip"} == clips
    assert len({j.frame_id for j in image_jobs}) == len(image_jobs)  # one image job per frame, none twice
    assert images <= {j.id for j in image_jobs}
