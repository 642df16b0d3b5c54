"""In a real headless Chromium: voice one shot on the Storyboard page (the studio's own worker speaks it with the
offline voice) and play its narration. Screenshot: test-artifacts/screenshots/voice-board.png."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    ingest_upload,
    nav_link,
    open_page,
    require_chromium,
    running_studio,
    settled,
    shot,
    studio_env,
)
from tests.studio.conftest import arabic_docx

pytestmark = pytest.mark.e2e


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    require_chromium()
    if shutil.which("espeak-ng") is None:
        pytest.skip("the offline voice needs espeak-ng (scripts/test-services.sh installs it)")
    data = tmp_path / "data"
    env = studio_env(data, SHOTS_PER_VIDEO="2", FRAMES_PER_SHOT="1", STUDIO_BACKGROUND_WORKER="1",
                     VOICE_PROVIDER="offline")
    with running_studio(env, cwd=Path(__file__).resolve().parents[2], log=tmp_path / "streamlit.log") as url:
        yield url, data


def test_voice_a_shot_and_play_it(studio: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, data = studio
    script = tmp_path / "course.docx"
    script.write_bytes(arabic_docx())
    with sync_playwright() as pw:
        browser, page = open_page(pw, url)
        ingest_upload(page, script, data, videos=2)
        nav_link(page, "Storyboard").click()
        settled(page)
        expect(page.get_by_text("Narration: 0 of 2 shots voiced")).to_be_visible()
        page.get_by_role("button", name="Voice", exact=True).first.click()
        settled(page)
        # The page's live status reruns it once the worker has spoken the shot.
        expect(page.get_by_text("Narration: 1 of 2 shots voiced")).to_be_visible(timeout=60_000)
        player = page.locator("audio").first
        expect(player).to_have_count(1)
        duration = player.evaluate("a => new Promise(ok => a.readyState >= 1 ? ok(a.duration) : "
                                   "a.addEventListener('loadedmetadata', () => ok(a.duration)))")
        assert duration > 0.5
        played = player.evaluate("a => { a.muted = true; return a.play().then(() => new Promise(ok => "
                                 "setTimeout(() => ok(a.currentTime), 700))); }")
        assert played > 0  # it really plays
        shot(page, "voice-board")
        browser.close()
    with sqlite3.connect(data / "studio.db") as conn:
        rows = conn.execute("select j.status, a.content_type, a.duration_s from jobs j join assets a "
                            "on a.job_id = j.id where j.kind = 'voice'").fetchall()
    assert len(rows) == 1 and rows[0][:2] == ("succeeded", "audio/wav") and rows[0][2] == pytest.approx(duration,
                                                                                                         abs=0.1)
