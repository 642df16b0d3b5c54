"""In a real headless Chromium: a video planned by the AI director (against the local OpenAI-compatible server in
tests/fakes, over real HTTP from the studio process), its shots' size and camera move shown as chips on the
board, then a planned clip rendered offline and played on the Clips page, its request carrying the shot's move.

Screenshots go to test-artifacts/screenshots/planner-*.png.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import CHROMIUM, nav_link, require_chromium, running_studio, shot, studio_env
from tests.fakes.openai_server import FakeOpenAIServer
from tests.studio.conftest import arabic_docx

pytestmark = pytest.mark.e2e


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path, FakeOpenAIServer]]:
    require_chromium()
    data = tmp_path / "data"
    with FakeOpenAIServer() as server:
        env = studio_env(data, SHOTS_PER_VIDEO="2", FRAMES_PER_SHOT="2", STUDIO_BACKGROUND_WORKER="1",
                         CLIP_DURATION_S="1")
        # The planner talks to the local server; prompts and renders stay offline (the harness removed any
        # real key from the environment before this one is set).
        env.update(OPENAI_API_KEY="sk-local-test-not-a-key", OPENAI_BASE_URL=server.base_url)
        with running_studio(env, cwd=tmp_path, log=tmp_path / "streamlit.log") as url:
            yield url, data, server


def settled(page: Any) -> None:
    """The harness's wait for a finished run, with room for a page run slowed by a loaded two-core machine."""
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=120_000)
    page.wait_for_timeout(300)


def _db(data: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data / "studio.db") as conn:
        return conn.execute(sql).fetchall()


def _button(page: Any, name: str, *, within: Any = None) -> None:
    button = (within or page).get_by_role("button", name=name, exact=True).first
    button.wait_for(state="visible", timeout=90_000)  # a loaded two-core machine draws slowly
    button.click()
    settled(page)


def _plan_popover(page: Any) -> Any:
    """The "Plan with AI" popover, opened again if a rerun closed it."""
    body = page.get_by_test_id("stPopoverBody")
    if not body.is_visible():
        page.get_by_role("button", name="Plan with AI").click()
        body.wait_for(state="visible")
    return body


def _nav(page: Any, title: str) -> None:
    nav_link(page, title).click()
    page.wait_for_url(f"**/{title.lower()}*", timeout=60_000)
    settled(page)


def test_plan_a_video_with_the_ai_then_render_and_play_a_planned_clip(
        studio: tuple[str, Path, FakeOpenAIServer], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, data, server = studio
    expect.set_options(timeout=60_000)  # a loaded two-core machine may take seconds per page run
    script = tmp_path / "دورة.docx"
    script.write_bytes(arabic_docx())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(url + "/library")
        page.wait_for_selector("h1", timeout=120_000)  # a fresh studio's first run, on a busy machine
        settled(page)
        page.locator("input[type=file]").set_input_files(str(script))
        _button(page, "Ingest script")
        expect(page.get_by_text("2 videos", exact=False).first).to_be_visible()

        _nav(page, "Storyboard")
        popover = _plan_popover(page)
        expect(popover.get_by_text("This video")).to_be_visible()  # the default scope
        _button(page, "Estimate the cost", within=popover)
        popover = _plan_popover(page)
        expect(popover.get_by_text("Before anything is sent:", exact=False)).to_be_visible()
        shot(page, "planner-estimate")
        _button(page, "Plan now", within=popover)
        expect(page.get_by_text("Planned 1, reused 0", exact=False).first).to_be_visible(timeout=60_000)

        plans = [r for r in server.requests if "/chat/completions" in r.path]
        assert len(plans) == 1, [r.path for r in server.requests]  # one video, one request, nothing re-asked
        boards = _db(data, "select s.id, s.video_id, s.version from storyboards s "
                           "where s.is_current = 1 and s.planner = 'openai'")
        assert len(boards) == 1 and boards[0][2] == 2, boards
        board_id = boards[0][0]
        planned = _db(data, f"select id, shot_size, camera_move, motion_prompt from shots "
                            f"where storyboard_id = {board_id} and deleted_at is null order by position")
        assert planned and all(size and move for _id, size, move, _motion in planned), planned
        page.keyboard.press("Escape")  # close the popover, as a producer would, to look at the board
        # Each shot's chips on the board show the size and the move the plan gave it.
        expect(page.get_by_text("Planned by openai", exact=False)).to_be_visible()
        for shot_id, size, move, _motion in planned:
            row = page.locator(f".st-key-shot-row-{shot_id}")
            # A chip is the icon's ligature then the label: the size beside its frame icon, the move beside its camera.
            expect(row).to_contain_text(re.compile(rf"crop_free\s*{re.escape(size)}"))
            expect(row).to_contain_text(re.compile(rf"videocam\s*{re.escape(move)}"))
        shot(page, "planner-board-chips")

        _nav(page, "Prompts")
        _button(page, "Refine all")
        _nav(page, "Clips")
        _button(page, "Approve and render clip")
        video = page.locator("video").first
        video.wait_for(timeout=120_000)
        settled(page)
        first_shot, _size, first_move, first_motion = planned[0]
        clip = _db(data, f"select status, params from jobs where kind = 'clip' and shot_id = {first_shot}")
        assert [status for status, _ in clip] == ["succeeded"], clip
        params = json.loads(clip[0][1])
        # The clip follows the plan: its motion prompt says the shot's move and carries the planned motion.
        sent = json.dumps(params, ensure_ascii=False).lower()
        assert first_move.split()[0] in sent and first_motion.split(" on ")[0].lower() in sent, params
        # The clip plays: the browser decodes it and its time advances.
        played = video.evaluate("""async v => { v.muted = true; await v.play();
            await new Promise(r => setTimeout(r, 700)); return [v.readyState, v.currentTime, v.duration]; }""")
        assert played[0] >= 2 and played[1] > 0 and played[2] > 0, played
        shot(page, "planner-clip")
        browser.close()
