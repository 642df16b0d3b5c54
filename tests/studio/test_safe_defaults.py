"""The studio's safe defaults hold whatever the working directory (issue 13, item 4): started from a directory
without the repository's `.streamlit/config.toml` it listens on the loopback interface only and tells the browser
not to send usage statistics; told to listen on every interface without sign-in it refuses to serve the app."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from studio.safe_defaults import exposure_problem
from tests.fakes.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@contextmanager
def _studio(cwd: Path, *flags: str) -> Iterator[int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(PYTHONPATH=str(ROOT), STUDIO_DATA_DIR=str(cwd / "data"), STUDIO_BACKGROUND_WORKER="0",
               RENDERER="offline", REFINER="offline")
    env.pop("DATABASE_URL", None)
    log = (cwd / "studio.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "studio" / "app.py"),
                             "--server.port", str(port), "--server.headless", "true", *flags],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (cwd / "studio.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (cwd / "studio.log").read_text()
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _one_run(port: int) -> tuple[bool, str]:
    """Open a tab's websocket, run the app once: (the session's gather-usage-stats flag, everything drawn)."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def run() -> tuple[bool, str]:
        drawn: list[str] = []
        stats = True
        async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=None) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_script_hash = ""
            await ws.send(msg.SerializeToString())
            while True:
                forward = ForwardMsg()
                forward.ParseFromString(await asyncio.wait_for(ws.recv(), 60))
                kind = forward.WhichOneof("type")
                if kind == "new_session":
                    stats = forward.new_session.config.gather_usage_stats
                drawn.append(str(forward))
                if kind == "script_finished":
                    return stats, "\n".join(drawn)

    return asyncio.run(run())


def _public_address() -> str | None:
    for _, _, _, _, addr in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
        if not addr[0].startswith("127."):
            return str(addr[0])
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout.split()
    except OSError:
        return None
    return next((a for a in out if "." in a and not a.startswith("127.")), None)


def test_started_elsewhere_it_listens_on_loopback_only_and_sends_no_statistics(tmp_path: Path) -> None:
    public = _public_address()
    with _studio(tmp_path) as port:
        stats, drawn = _one_run(port)
        assert stats is False
        assert "refuses to serve" not in drawn and "Library" in drawn
        if public is not None:
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://{public}:{port}/_stcore/health", timeout=3)


def test_on_every_interface_without_sign_in_it_refuses_to_serve(tmp_path: Path) -> None:
    with _studio(tmp_path, "--server.address", "0.0.0.0", "--browser.gatherUsageStats", "true") as port:
        _, drawn = _one_run(port)
        assert "refuses to serve" in drawn and "--server.address 127.0.0.1" in drawn
        assert "Storyboard" not in drawn  # no page, no navigation
        stats, _ = _one_run(port)
        assert stats is False  # forced off by the app although the command line asked for it


@pytest.mark.parametrize("address, sign_in, refused", [
    ("127.0.0.1", False, False), ("localhost", False, False), ("::1", False, False), ("[::1]", False, False),
    ("", False, True), ("0.0.0.0", False, True), ("192.0.2.7", False, True), ("0.0.0.0", True, False),
])
def test_exposure_rule(address: str, sign_in: bool, refused: bool) -> None:
    assert (exposure_problem(address, sign_in=sign_in) is not None) == refused
