"""In a real headless Chromium: define the course presenter with an uploaded photo, see her on the board, choose
a set for one shot with its chip, render offline, and find the photo on the rendered cards.

The studio runs as `streamlit run studio/app.py` on a free port with a temp data dir, the offline providers and
its own background worker. Screenshots go to test-artifacts/screenshots/cast-*.png.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.assets import AssetStore
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
RED = (220, 20, 20)


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    require_chromium()
    data = tmp_path / "data"
    env = studio_env(data, SHOTS_PER_VIDEO="2", FRAMES_PER_SHOT="2", STUDIO_BACKGROUND_WORKER="1")
    with running_studio(env, cwd=Path(__file__).resolve().parents[2], log=tmp_path / "streamlit.log") as url:
        yield url, data


def _open(page, title: str) -> None:  # type: ignore[no-untyped-def]
    nav_link(page, title).click()
    settled(page)


def _db(data: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data / "studio.db") as conn:
        return conn.execute(sql).fetchall()


def _photo(path: Path, color: tuple[int, int, int]) -> Path:
    img = Image.new("RGB", (400, 400), (245, 240, 230))
    img.paste(Image.new("RGB", (300, 360), color), (50, 40))
    img.save(path, format="JPEG")
    return path


def _red_pixels(png: bytes) -> int:
    card = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in card.getdata() if r > 190 and g < 60 and b < 60)


def test_a_presenter_with_an_uploaded_photo_is_on_the_board_and_in_the_renders(
        studio: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, data = studio
    script = tmp_path / "course.docx"
    script.write_bytes(arabic_docx())
    layla = _photo(tmp_path / "layla.jpg", RED)
    set_photo = _photo(tmp_path / "studio-set.jpg", (20, 60, 200))
    with sync_playwright() as pw:
        browser, page = open_page(pw, url)
        ingest_upload(page, script, data, videos=2)

        # Storyboard: define the presenter, with her photo, in the style bible's cast
        _open(page, "Storyboard")
        page.get_by_text("Cast and sets", exact=False).first.click()
        form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Add to the cast"))
        form.get_by_label("Name").fill("Layla")
        form.get_by_label("Description").fill("A woman in her thirties, red blazer, short dark hair")
        form.locator("input[type=file]").set_input_files(str(layla))
        page.wait_for_timeout(500)
        form.get_by_role("button", name="Add to the cast").click()
        settled(page)
        assert _db(data, "select name, kind from cast_members") == [("Layla", "presenter")]
        assert _db(data, "select origin, is_reference from cast_images") == [("upload", 1)]

        # The board: every shot shows her by default, as a chip
        expect(page.get_by_text("Shows the course presenter (default)")).to_have_count(2)
        chips = page.locator("[class*='st-key-cast-chips-']")
        expect(chips).to_have_count(2)
        expect(chips.first.get_by_text("Layla")).to_be_visible()

        # A set, then chosen for shot 2 with its chip
        form.get_by_label("Name").fill("Studio")
        kind = form.get_by_test_id("stSelectbox")
        kind.scroll_into_view_if_needed()
        kind.click()
        option = page.get_by_role("option", name="set")
        if not option.is_visible():  # the list may not open on the first click after a rerun: type to choose
            kind.locator("input").fill("set")
        option.click()
        form.locator("input[type=file]").set_input_files(str(set_photo))
        page.wait_for_timeout(500)
        form.get_by_role("button", name="Add to the cast").click()
        settled(page)
        page.locator("[class*='st-key-cast-member-']").first.scroll_into_view_if_needed()
        expect(page.locator("[class*='st-key-cast-member-']")).to_have_count(2)
        shot(page, "cast-style-bible")
        chips.nth(1).get_by_role("button", name="Studio").click()
        settled(page)
        chosen = _db(data, "select s.position, m.name from shot_cast c join shots s on s.id = c.shot_id "
                           "join cast_members m on m.id = c.member_id")
        assert sorted(chosen) == [(2, "Layla"), (2, "Studio")], chosen  # she was shown already: now chosen too
        expect(page.get_by_text("Shows the course presenter (default)")).to_have_count(1)
        shot(page, "cast-board-chips")

        # Refine and render offline with the studio's own worker
        _open(page, "Prompts")
        page.get_by_role("button", name="Refine all").click()
        settled(page)
        _open(page, "Images")
        expect(page.get_by_text("Offline cards draw the cast member", exact=False)).to_be_visible()
        page.get_by_role("button", name="Render all missing images").click()
        settled(page)
        expect(page.get_by_text("4 of 4 frames have an image")).to_be_visible(timeout=60_000)
        settled(page)
        shot(page, "cast-images")
        _open(page, "Storyboard")
        page.locator("[class*='st-key-frame-card-']").first.scroll_into_view_if_needed()
        shot(page, "cast-board-rendered")
        browser.close()

    rows = _db(data, "select f.id, s.position, j.params, a.storage_key from jobs j join frames f on f.id = j.frame_id "
                     "join shots s on s.id = f.shot_id join assets a on a.job_id = j.id order by f.id")
    assert len(rows) == 4
    for _, position, params, key in rows:
        members = [r["member"] for r in json.loads(str(params))["references"]]
        assert members == (["Layla"] if position == 1 else ["Layla", "Studio"])
        png = AssetStore(data).read(str(key))
        assert _red_pixels(png) > 90 * 90  # her photo's thumbnail is on every card
