"""The local Higgs-protocol server on its own, spoken to with plain httpx: the protocol rules other tests and
the benchmark rely on (auth, the CDN's User-Agent block, idempotency, uploads, limits) and its standalone run."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.higgs import HiggsClient, PollSchedule, image_body
from tests.fakes.higgs_server import FakeHiggsServer
from tests.fakes.ports import free_port

SOUL = "higgsfield-ai/soul/standard"
ROOT = Path(__file__).resolve().parents[2]
UA = {"User-Agent": "course-visual-studio/test"}


@pytest.fixture
def server() -> Iterator[FakeHiggsServer]:
    with FakeHiggsServer(latency_s=0.1) as srv:
        yield srv


def _auth(server: FakeHiggsServer, **extra: str) -> dict[str, str]:
    key_id, secret = server.credentials
    return {**UA, "Authorization": f"Key {key_id}:{secret}", **extra}


def _submit(server: FakeHiggsServer, body: dict[str, Any], key: str | None) -> httpx.Response:
    headers = _auth(server, **({"Idempotency-Key": key} if key else {}))
    return httpx.post(f"{server.base_url}/{SOUL}", json=body, headers=headers)


def test_api_routes_need_the_key_and_a_real_user_agent(server: FakeHiggsServer) -> None:
    body = {"prompt": "x"}
    assert httpx.post(f"{server.base_url}/{SOUL}", json=body, headers=UA).status_code == 401
    wrong = {**UA, "Authorization": "Bearer abc"}
    assert httpx.post(f"{server.base_url}/{SOUL}", json=body, headers=wrong).status_code == 401
    default_agent = {"Authorization": _auth(server)["Authorization"]}  # httpx's own python-httpx/x agent
    blocked = httpx.post(f"{server.base_url}/{SOUL}", json=body, headers=default_agent)
    assert blocked.status_code == 403 and "credits" in blocked.json()["detail"]


def test_same_key_same_body_is_one_request_and_another_body_is_422(server: FakeHiggsServer) -> None:
    first = _submit(server, {"prompt": "x"}, "k")
    again = _submit(server, {"prompt": "x"}, "k")
    assert first.status_code == again.status_code == 200
    assert first.json()["request_id"] == again.json()["request_id"]
    assert _submit(server, {"prompt": "y"}, "k").status_code == 422
    assert _submit(server, {"prompt": "x"}, None).json()["request_id"] != first.json()["request_id"]
    time.sleep(0.15)
    assert server.charged_requests == 2 and server.charges_by_key()["k"] == 1


def test_outputs_are_public_and_expire_field_is_set(server: FakeHiggsServer) -> None:
    request_id = _submit(server, {"prompt": "x"}, "k").json()["request_id"]
    time.sleep(0.15)
    status = httpx.get(f"{server.base_url}/requests/{request_id}/status", headers=_auth(server)).json()
    assert status["status"] == "completed" and status["expires_at"].endswith("Z")
    png = httpx.get(status["images"][0]["url"], headers=UA)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert server.polls[request_id] == 1


def test_upload_put_requires_the_returned_headers(server: FakeHiggsServer) -> None:
    slot = httpx.post(f"{server.base_url}/files/generate-upload-url", json={"content_type": "image/jpeg"},
                      headers=_auth(server)).json()
    assert httpx.get(slot["public_url"], headers=UA).status_code == 404  # nothing uploaded yet
    refused = httpx.put(slot["upload_url"], content=b"jpeg", headers={**UA, "Content-Type": "image/jpeg"})
    assert refused.status_code == 403
    ok = httpx.put(slot["upload_url"], content=b"jpeg", headers={**UA, **slot["upload_headers"]})
    assert ok.status_code == 200
    served = httpx.get(slot["public_url"], headers=UA)
    assert served.content == b"jpeg" and served.headers["content-type"] == "image/jpeg"


def test_concurrency_limit_and_spent_credits() -> None:
    with FakeHiggsServer(latency_s=5, max_concurrent=1, credits=100) as srv:
        assert _submit(srv, {"prompt": "a"}, "a").status_code == 200
        limited = _submit(srv, {"prompt": "b"}, "b")
        assert limited.status_code == 400 and "Maximum number of concurrent requests" in limited.json()["detail"]
    with FakeHiggsServer(latency_s=0.05, credits=1) as srv:
        assert _submit(srv, {"prompt": "a"}, "a").status_code == 200
        time.sleep(0.1)
        assert _submit(srv, {"prompt": "b"}, "b").status_code == 403


def test_runs_standalone_from_the_command_line() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests/fakes/higgs_server.py"), "--port", str(port),
                             "--latency", "0.1"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and "fake Higgs server on" in proc.stdout.readline()
        with HiggsClient(base_url=f"http://127.0.0.1:{port}", key_id="test-key-id", key_secret="test-key-secret",
                         poll=PollSchedule(0.1, 1.5, 0.5)) as client:
            sub = client.submit(SOUL, image_body(SOUL, prompt="x"), idempotency_key="cli")
            assert client.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).kind == "completed"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
