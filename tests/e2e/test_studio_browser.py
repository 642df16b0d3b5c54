"""End to end in a real headless Chromium: upload an Arabic script, edit a frame, refine, render, play a clip.

The studio runs as `streamlit run studio/app.py` on a free port with a temp data dir and the offline providers;
its own background worker renders. Screenshots of every page go to test-artifacts/screenshots/ (and, with
UPDATE_SCREENSHOTS=1, the main ones are copied to docs/screenshots/ for the README).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.studio.conftest import arabic_docx

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
MAIN_PAGES = ("library", "storyboard", "prompts", "images", "clips")
NEW_TEXT = "معلم يقف أمام عجلة الألوان"

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    data = tmp_path / "data"
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "STUDIO_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{data / 'studio.db'}", "REFINER": "offline", "RENDERER": "offline",
        "SHOTS_PER_VIDEO": "2", "FRAMES_PER_SHOT": "2", "STUDIO_BACKGROUND_WORKER": "1",
    }
    for key in ("OPENAI_API_KEY", "HF_KEY", "HF_API_KEY", "HF_API_SECRET"):
        env.pop(key, None)
    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "studio/app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, data
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _settled(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=30_000)
    page.wait_for_timeout(300)


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def _open(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    _settled(page)


def _db(data: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data / "studio.db") as conn:
        return conn.execute(sql).fetchall()


def test_studio_end_to_end(studio: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
        pytest.skip(f"{CHROMIUM} is not installed (CI installs it)")
    url, data = studio
    script = tmp_path / "دورة.docx"
    script.write_bytes(arabic_docx())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(30_000)
        page.goto(url)
        _settled(page)

        # Library: upload the Arabic script
        page.locator("input[type=file]").set_input_files(str(script))
        page.get_by_role("button", name="Ingest script").click()
        _settled(page)
        expect(page.get_by_text("2 videos", exact=False).first).to_be_visible()
        assert _db(data, "select count(*) from videos") == [(2,)]
        _shot(page, "library")

        # Storyboard: the grid, right-to-left Arabic, then edit the first frame's scene text
        _open(page, "Storyboard")
        expect(page.locator("[class*='st-key-rtl-scene-']").first).to_have_css("direction", "rtl")
        page.get_by_role("tab", name="Edit scene text").click()
        grid = page.get_by_test_id("stDataFrameResizable").first
        grid.wait_for()
        box = grid.bounding_box()
        assert box is not None
        # the grid is a canvas: click the "Scene text" cell of the first row (columns: select, shot, frame, text)
        page.mouse.click(box["x"] + box["width"] * 0.59, box["y"] + 35 + 17)
        page.keyboard.press("Enter")
        page.locator("textarea").last.wait_for()  # the cell's overlay editor
        page.keyboard.press("Control+a")
        page.keyboard.type(NEW_TEXT, delay=10)
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Save changes").click()
        _settled(page)
        texts = [t for (t,) in _db(data, "select scene_text from frames order by id")]
        assert NEW_TEXT in texts, texts

        # Prompts: refine the whole video
        _open(page, "Prompts")
        page.get_by_role("button", name="Refine all").click()
        _settled(page)
        expect(page.get_by_text("this video: 4 refined", exact=False)).to_be_visible()
        _shot(page, "prompts")

        # Images: render every missing image with the studio's own worker
        _open(page, "Images")
        page.get_by_role("button", name="Render all missing images").click()
        _settled(page)
        expect(page.get_by_text("4 of 4 frames have an image")).to_be_visible(timeout=60_000)
        _settled(page)
        _shot(page, "images")

        # Storyboard again: thumbnails in the grid; approve shot 1 (clips are rendered from approved frames)
        _open(page, "Storyboard")
        page.get_by_role("button", name="Approve shot").first.click()
        _settled(page)
        expect(page.get_by_text("2/4 frames and 1/2 shots approved", exact=False)).to_be_visible()
        _shot(page, "storyboard")

        # Clips: one click for shot 1, then play it
        _open(page, "Clips")
        page.get_by_role("button", name="Render clip").first.click()
        _settled(page)
        video = page.locator("video").first
        video.wait_for(timeout=90_000)
        _settled(page)
        video.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return v && v.readyState >= 2 && v.duration > 0; }", timeout=30_000)
        assert video.evaluate("v => v.duration") > 0
        _shot(page, "clips")

        _open(page, "Jobs")
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        _settled(page)
        _shot(page, "jobs")
        _open(page, "Settings")
        expect(page.get_by_text("127.0.0.1", exact=False).first).to_be_visible()
        _shot(page, "settings")
        assert page.get_by_text("Traceback").count() == 0
        browser.close()

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for name in MAIN_PAGES:
            shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")
