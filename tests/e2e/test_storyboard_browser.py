"""In a real headless Chromium: the upload form's density choice with its preview, then the Storyboard page's tabs
(board with its note, narration coverage, script reading with a correction) on a script with directions.

Screenshots go to test-artifacts/screenshots/storyboard-*.png.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.docx_factory import make_docx
from tests.e2e.harness import (
    eventually,
    nav_link,
    open_page,
    require_chromium,
    running_studio,
    settled,
    shot,
    studio_env,
)

pytestmark = pytest.mark.e2e
SENTENCE = "نتعلم في هذا الدرس كيف نقرأ البيانات ونفهمها خطوة بخطوة مع أمثلة كثيرة."


def _script() -> bytes:
    return make_docx([
        ("heading", "الفيديو الأول: قراءة البيانات"), ("para", "المشهد: المدرب أمام السبورة."),
        ("para", " ".join([SENTENCE] * 40)), ("para", "موسيقى: نغمة هادئة نسمعها معا في نهاية الدرس"),
        ("heading", "الفيديو الثاني: وداعا"), ("para", "شكرا لكم على المتابعة."),
    ], title="دورة البيانات")


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    require_chromium()
    data = tmp_path / "data"
    env = studio_env(data, STUDIO_BACKGROUND_WORKER="0")
    with running_studio(env, cwd=tmp_path, log=tmp_path / "streamlit.log") as url:
        yield url, data


def _db(data: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data / "studio.db") as conn:
        return conn.execute(sql).fetchall()


def test_paced_upload_and_the_storyboard_tabs(studio: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, data = studio
    script = tmp_path / "بيانات.docx"
    script.write_bytes(_script())
    with sync_playwright() as pw:
        browser, page = open_page(pw, url)
        page.locator("input[type=file]").set_input_files(str(script))
        settled(page)
        # Fixed 4 × 3 by default: the preview says what each video would get before anything is stored.
        expect(page.get_by_text("Preview (4 × 3): 5 shots, 13 frames in 2 videos.")).to_be_visible()
        page.get_by_text("Paced by the narration").click()
        settled(page)
        pace = page.get_by_label("Seconds of narration per frame")
        pace.fill("10")
        pace.press("Enter")
        settled(page)
        expect(page.get_by_text("Preview (paced, one frame per 10 s, at most 3 a shot): 9 shots, 25 frames"
                                ).first).to_be_visible()
        shot(page, "storyboard-upload-paced")
        page.get_by_role("button", name="Ingest script").click()
        settled(page)
        stored = [("paced", 10.0)] * 2
        assert eventually(lambda: _db(data, "select density, pace_s from storyboards order by id"), stored) == stored
        assert _db(data, "select count(*) from frames") == [(25,)]

        nav_link(page, "Storyboard").click()
        settled(page)
        expect(page.get_by_text("Version 1 · 8 shots · 24 frames")).to_be_visible()
        expect(page.get_by_text("Paced: 24 frame(s)", exact=False)).to_be_visible()
        shot(page, "storyboard-board-paced")

        page.get_by_role("tab", name="Narration coverage").click()
        settled(page)
        expect(page.get_by_text("All 40 sentences of the narration are in a shot, each in exactly one.")
               ).to_be_visible()
        shot(page, "storyboard-coverage")

        page.get_by_role("tab", name="Script reading").click()
        settled(page)
        expect(page.get_by_text("Directions (not spoken)")).to_be_visible()
        shot(page, "storyboard-script-reading")
        # The music line was read as a direction; the producer says it is spoken.
        page.get_by_role("button", name="Read as narration").nth(1).click()
        settled(page)
        # on a loaded machine the click's rerun may still be saving when settled() returns
        assert eventually(lambda: _db(data, "select max(version) from storyboards where video_id = 1"),
                          [(2,)]) == [(2,)]
        bodies = [b for (b,) in _db(data, "select body from videos order by position")]
        assert "نغمة هادئة" in str(bodies[0])
        browser.close()
