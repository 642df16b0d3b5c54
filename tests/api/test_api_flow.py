"""The whole pipeline over a real socket (uvicorn on a free port): extract → prompts → images → video, with the
offline providers and the worker drained in-process; the fetched bytes must be a real PNG and a real MP4."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import av
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image

from core.api import create_app
from core.jobs import Worker
from core.runtime import Runtime
from tests.api.conftest import DOCX_TYPE, arabic_script
from tests.fakes.ports import free_port

TOKEN = "flow-token"


@pytest.fixture
def flow_runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    # A short clip keeps the H.264 encode quick. The explicit-URL clip fetches from this test's own server on
    # http://127.0.0.1, which the default download policy refuses, so that host is allowed explicitly.
    return make_runtime(clip_duration_s=1, download_allowed_hosts="127.0.0.1", allow_private_downloads=True,
                        allow_http_downloads=True)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` on uvicorn in a thread on a free port; yields its base URL once it accepts connections."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_url(flow_runtime: Runtime) -> Iterator[str]:
    with serving(create_app(flow_runtime)) as url:
        yield url


def _drain(runtime: Runtime) -> None:
    Worker(runtime, idle_s=0.05).run(drain=True)


def _finished(http: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/jobs/{job['id']}").json()
    assert body["status"] == "succeeded", body
    assert len(body["assets"]) == 1
    return body


def test_extract_prompts_images_video(live_url: str, flow_runtime: Runtime) -> None:
    with httpx.Client(base_url=live_url, timeout=30) as http:
        extracted = http.post("/files/extract", files={"file": ("course.docx", arabic_script(1, 4), DOCX_TYPE)},
                              params={"shots": 2, "frames": 2})
        assert extracted.status_code == 200, extracted.text
        script = extracted.json()
        shot = script["videos"][0]["shots"][0]

        prompts = http.post("/prompts/generate", json={"file_id": script["file_id"], "video_number": 1})
        assert prompts.status_code == 200 and prompts.json()["refined"] == 4

        image_job = http.post("/generation/images", json={"frame_id": shot["frames"][0]["id"]})
        assert image_job.status_code == 202
        _drain(flow_runtime)
        image = _finished(http, image_job.json())["assets"][0]
        png = http.get(image["url"])
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert Image.open(io.BytesIO(png.content)).size == (1280, 720)

        # An approved frame with a take is not re-rendered unless forced (approved through the API's review action).
        approved = http.post(f"/frames/{shot['frames'][0]['id']}/review", json={"status": "approved"})
        assert approved.status_code == 200 and approved.json()["review_status"] == "approved"
        gated = http.post("/generation/images", json={"frame_id": shot["frames"][0]["id"]})
        assert gated.status_code == 409 and gated.json()["category"] == "gate"
        reroll = http.post("/generation/images", json={"frame_id": shot["frames"][0]["id"], "force": True})
        assert reroll.status_code == 202 and reroll.json()["id"] != image_job.json()["id"]

        # Clips are rendered only from approved frames: the shot's second frame is still a draft.
        clip_gated = http.post("/generation/video", json={"shot_id": shot["id"]})
        assert clip_gated.status_code == 409 and "not approved" in clip_gated.json()["detail"]
        second = http.post(f"/frames/{shot['frames'][1]['id']}/review", json={"status": "approved"})
        assert second.status_code == 200, second.text
        clip_job = http.post("/generation/video", json={"shot_id": shot["id"]})
        assert clip_job.status_code == 202
        assert len(clip_job.json()["depends_on"]) == 1  # the first frame has its image; the last is queued
        _drain(flow_runtime)
        clip = _finished(http, clip_job.json())["assets"][0]
        _assert_mp4(http.get(clip["url"]))
        board = http.get(f"/files/{script['file_id']}/storyboard").json()
        assert board["videos"][0]["shots"][0]["selected_clip_id"] == clip["id"]

        # The forced re-roll's take is the one the board shows now; the first take is only in Takes, so a clip
        # from it is not a clip of an approved keyframe.
        first_image = board["videos"][0]["shots"][0]["frames"][0]["selected_image_id"]
        assert first_image == _finished(http, reroll.json())["assets"][0]["id"] != image["id"]
        last_image = board["videos"][0]["shots"][0]["frames"][1]["selected_image_id"]
        old_take = http.post("/generation/video", json={
            "start_image_url": f"{live_url}{image['url']}", "end_image_id": last_image, "prompt": "Old take"})
        assert old_take.status_code == 409 and old_take.json()["category"] == "gate", old_take.text
        image = {"url": f"/assets/{first_image}"}

        # Explicit inputs: a URL (this server's own asset URL) to start, an asset id to end.
        explicit = http.post("/generation/video", json={
            "start_image_url": f"{live_url}{image['url']}", "end_image_id": last_image,
            "prompt": "Slow push-in across the solar panels",
        })
        assert explicit.status_code == 202, explicit.text
        job = explicit.json()
        assert job["shot_id"] is None and job["input_urls"] == [f"{live_url}{image['url']}"]
        assert len(job["input_asset_ids"]) == 2 and job["input_asset_ids"][1] == last_image
        same = http.post("/generation/video", json={
            "start_image_url": f"{live_url}{image['url']}", "end_image_id": last_image,
            "prompt": "Slow push-in across the solar panels",
        })
        assert same.json()["id"] == job["id"]
        _drain(flow_runtime)
        _assert_mp4(http.get(_finished(http, job)["assets"][0]["url"]))


def _assert_mp4(resp: httpx.Response) -> None:
    assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"
    assert resp.content[4:8] == b"ftyp"
    with av.open(io.BytesIO(resp.content)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(stream)) >= 20  # about a second at 24 fps


def test_token_over_a_real_socket(make_runtime: Callable[..., Runtime]) -> None:
    with serving(create_app(make_runtime(), api_token=TOKEN)) as base:
        refused = httpx.get(f"{base}/openapi.json")
        assert refused.status_code == 401 and refused.json()["category"] == "unauthorized"
        ok = httpx.get(f"{base}/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["info"]["title"]
