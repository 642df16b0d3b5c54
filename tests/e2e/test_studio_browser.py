"""End to end in a real headless Chromium: upload an Arabic script, edit a frame, refine, render, play a clip.

The studio runs as `streamlit run studio/app.py` on a free port with a temp data dir and the offline providers;
its own background worker renders. Screenshots of every page go to test-artifacts/screenshots/ (and, with
UPDATE_SCREENSHOTS=1, the main ones are copied to docs/screenshots/ for the README).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    ARTIFACTS,
    card_texts_misaligned,
    eventually,
    ingest_upload,
    nav_link,
    ROOT,
    open_page,
    require_chromium,
    running_studio,
    settled,
    shot,
    studio_env,
)
from tests.studio.conftest import arabic_docx

DOCS = ROOT / "docs" / "screenshots"
MAIN_PAGES = ("library", "storyboard", "prompts", "images", "clips")
NEW_TEXT = "معلم يقف أمام عجلة الألوان"

pytestmark = pytest.mark.e2e


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    require_chromium()
    data = tmp_path / "data"
    env = studio_env(data, SHOTS_PER_VIDEO="2", FRAMES_PER_SHOT="2", STUDIO_BACKGROUND_WORKER="1")
    with running_studio(env, cwd=ROOT, log=tmp_path / "streamlit.log") as url:
        yield url, data


def _open(page, title: str) -> None:  # type: ignore[no-untyped-def]
    nav_link(page, title).click()
    settled(page)


def _db(data: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data / "studio.db") as conn:
        return conn.execute(sql).fetchall()


WIDTHS = (1440, 1280, 800)


def _card_arabic_reads_right(page) -> None:  # type: ignore[no-untyped-def]
    """A card's Arabic paragraphs (scene, beat) end at the card's right edge, its English prompt starts at the left
    one, at every width."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        shown, misaligned = card_texts_misaligned(page)
        assert shown and not misaligned, (width, misaligned)
    page.set_viewport_size({"width": 1366, "height": 900})


def _arabic_reads_right(page) -> None:  # type: ignore[no-untyped-def]
    """Arabic blocks read right to left and align right (from the computed style) at every width."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        styles = page.eval_on_selector_all(
            "[class*='st-key-rtl-'] p",
            "els => els.map(e => [getComputedStyle(e).direction, getComputedStyle(e).textAlign])")
        assert styles, width
        assert all(d == "rtl" and a in ("right", "start") for d, a in styles), (width, set(map(tuple, styles)))
    page.set_viewport_size({"width": 1366, "height": 900})


def test_studio_end_to_end(studio: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    url, data = studio
    script = tmp_path / "دورة.docx"
    script.write_bytes(arabic_docx())
    with sync_playwright() as pw:
        browser, page = open_page(pw, url)

        # Library: upload the Arabic script
        ingest_upload(page, script, data, videos=2)
        expect(page.get_by_text("2 videos", exact=False).first).to_be_visible()
        assert _db(data, "select count(*) from videos") == [(2,)]
        shot(page, "library")

        # Storyboard: the grid, right-to-left Arabic, then edit the first frame's scene text
        _open(page, "Storyboard")
        expect(page.locator("[class*='st-key-frame-card-'] [data-testid=stMarkdownContainer] p").first) \
            .to_have_css("unicode-bidi", "plaintext")  # each paragraph takes its first letter's direction
        _card_arabic_reads_right(page)
        _arabic_reads_right(page)
        page.get_by_role("tab", name="Edit scene text").click()
        grid = page.get_by_test_id("stDataFrameResizable").first
        grid.wait_for()
        editor = page.locator("textarea").last  # the cell's overlay editor
        # The grid is a canvas: click the "Scene text" cell of the first row (columns: select, shot, frame, text).
        # A click that lands while the canvas is still laying out is lost, so try again (double-click opens too).
        for attempt in range(5):
            page.wait_for_timeout(400)
            box = grid.bounding_box()
            assert box is not None
            x, y = box["x"] + box["width"] * 0.59, box["y"] + 35 + 17
            if attempt % 2:
                page.mouse.dblclick(x, y)
            else:
                page.mouse.click(x, y)
                page.keyboard.press("Enter")
            try:
                editor.wait_for(timeout=4_000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
        else:
            raise AssertionError("the scene-text cell editor never opened")
        page.keyboard.press("Control+a")
        page.keyboard.type(NEW_TEXT, delay=10)
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)
        # A look at the board (only the open tab is drawn) keeps the unsaved edit
        page.get_by_role("tab", name="Board").click()
        settled(page)
        expect(page.locator("[class*='st-key-frame-card-']").first).to_be_visible()
        page.get_by_role("tab", name="Edit scene text").click()
        settled(page)
        page.get_by_role("button", name="Save changes").click()
        settled(page)
        saved = eventually(lambda: NEW_TEXT in [t for (t,) in _db(data, "select scene_text from frames")], True)
        assert saved, [t for (t,) in _db(data, "select scene_text from frames order by id")]

        # Prompts: refine the whole video
        _open(page, "Prompts")
        page.get_by_role("button", name="Refine all").click()
        settled(page)
        expect(page.get_by_text("this video: 4 refined", exact=False)).to_be_visible()
        shot(page, "prompts")

        # Images: render every missing image with the studio's own worker
        _open(page, "Images")
        page.get_by_role("button", name="Render all missing images").click()
        settled(page)
        expect(page.get_by_text("4 of 4 frames have an image")).to_be_visible(timeout=60_000)
        settled(page)
        shot(page, "images")

        # Storyboard again: thumbnails in the grid; approve shot 1 (clips are rendered from approved frames)
        _open(page, "Storyboard")
        page.get_by_role("button", name="Approve shot").first.click()
        settled(page)
        expect(page.get_by_text("2/4 frames and 1/2 shots approved", exact=False)).to_be_visible()
        shot(page, "storyboard")

        # Clips: one click for shot 1, then play it
        _open(page, "Clips")
        page.get_by_role("button", name="Render clip").first.click()
        settled(page)
        video = page.locator("video").first
        video.wait_for(timeout=90_000)
        settled(page)
        video.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return v && v.readyState >= 2 && v.duration > 0; }", timeout=30_000)
        assert video.evaluate("v => v.duration") > 0
        shot(page, "clips")

        _open(page, "Jobs")
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        settled(page)
        shot(page, "jobs")
        _open(page, "Settings")
        expect(page.get_by_text("127.0.0.1", exact=False).first).to_be_visible()
        shot(page, "settings")
        assert page.get_by_text("Traceback").count() == 0

        # Every page has its own address, the Library too; the chosen script and video come along in the link
        page.goto(f"{url}/library")
        settled(page)
        expect(page.get_by_text("Page not found")).to_have_count(0)
        expect(page.get_by_role("heading", name="Library")).to_be_visible()
        # The tab icon is served by the studio itself, never fetched from a web font or emoji service
        icon = page.locator("link[rel*='icon']").first.get_attribute("href") or ""
        assert not icon.startswith("http") or icon.startswith(url), icon
        browser.close()

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for name in MAIN_PAGES:
            shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")
