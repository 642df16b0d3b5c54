"""`python -m core serve` as a real subprocess: the bind rule, the token from CVS_API_TOKEN, and the in-process
worker that runs jobs queued through the API (no separate worker, no drain)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.cli import main
from tests.api.conftest import DOCX_TYPE, arabic_script
from tests.fakes.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CVS_API_TOKEN", "DATABASE_URL")}
    env.update(PYTHONPATH=str(ROOT), STUDIO_DATA_DIR=str(tmp_path / "data"), REFINER="offline", RENDERER="offline",
               DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", CLIP_DURATION_S="1", **extra)
    return env


def test_serve_refuses_a_public_interface_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CVS_API_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: insecure_bind:") and "CVS_API_TOKEN" in err


def test_serve_runs_the_api_and_the_worker(tmp_path: Path) -> None:
    port = free_port()
    token = "serve-test-token"
    proc = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=_env(tmp_path, CVS_API_TOKEN=token), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{base}/openapi.json", headers=auth, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.1)
        with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
            assert httpx.get(f"{base}/jobs/1").status_code == 401
            script = http.post("/files/extract", files={"file": ("c.docx", arabic_script(1, 3), DOCX_TYPE)},
                               params={"shots": 1, "frames": 1}).json()
            http.post("/prompts/generate", json={"file_id": script["file_id"], "video_number": 1})
            frame_id = script["videos"][0]["shots"][0]["frames"][0]["id"]
            job = http.post("/generation/images", json={"frame_id": frame_id}).json()
            deadline = time.monotonic() + 30
            while (status := http.get(f"/jobs/{job['id']}").json())["status"] != "succeeded":
                assert status["status"] in ("pending", "submitted", "running"), status
                assert time.monotonic() < deadline, status
                time.sleep(0.1)
            png = http.get(status["assets"][0]["url"])
            assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    finally:
        proc.terminate()
        proc.wait(10)
