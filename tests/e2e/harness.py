"""What every browser test needs: the studio as `streamlit run` on a free port, and a Chromium page on it.

`running_studio` starts the real server as a subprocess and yields its URL once `/_stcore/health` answers;
`settled` waits until a script run has finished, which is when the page shows what the user would see.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fakes.ports import free_port

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# The studio's own sidebar navigation (studio/nav.py): its links carry the chosen script and video.
NAV = ".st-key-studio-nav"
# Keys a developer's shell may hold: a browser test must never reach a paid provider.
PROVIDER_KEYS = ("OPENAI_API_KEY", "HF_KEY", "HF_API_KEY", "HF_API_SECRET")


def require_chromium() -> None:
    """Skip where Chromium is missing (CI installs it, so there it is a failure instead)."""
    if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
        pytest.skip(f"{CHROMIUM} is not installed (CI installs it)")


def studio_env(data: Path, **extra: str) -> dict[str, str]:
    """This process's environment with the studio on `data` (SQLite there), offline providers and no keys."""
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "STUDIO_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{data / 'studio.db'}", "REFINER": "offline", "RENDERER": "offline", **extra,
    }
    for key in PROVIDER_KEYS:
        env.pop(key, None)
    return env


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
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


@contextmanager
def running_studio(env: Mapping[str, str], *, cwd: Path, log: Path, port: int | None = None) -> Iterator[str]:
    """`streamlit run studio/app.py` from `cwd` (whose `.streamlit/` it reads), output to `log`; yields its URL."""
    port = port or free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "studio" / "app.py"), "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def open_page(pw: Any, url: str) -> tuple[Any, Any]:
    """A headless Chromium (browser, page) on `url`, settled after the first run."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(url)
    settled(page)
    return browser, page


def nav_link(page: Any, title: str) -> Any:
    """The sidebar navigation's link to the page titled `title` (a Playwright locator)."""
    return page.locator(NAV).get_by_role("link", name=title)


def settled(page: Any) -> None:
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=30_000)
    page.wait_for_timeout(300)


def eventually(read: Callable[[], T], expected: T, timeout_s: float = 60.0) -> T:
    """`read()` until it returns `expected` (or the timeout passes; the last value is returned for the assert):
    on a loaded machine a click's rerun can begin after settled() has already seen the idle page."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.25)
        value = read()
    return value


def ingest_upload(page: Any, script: Path, data: Path, *, videos: int) -> None:
    """Upload `script` on the Library page and wait until its `videos` are stored: the upload preview already says
    "N videos" before anything is stored, and settled() alone can see the page before the ingest's rerun."""
    import sqlite3

    def stored() -> int:
        with sqlite3.connect(data / "studio.db") as conn:
            return int(conn.execute("select count(*) from videos").fetchone()[0])

    page.locator("input[type=file]").set_input_files(str(script))
    for _ in range(3):  # a click landing while the upload's own rerun redraws the button is lost: click again
        button = page.get_by_role("button", name="Ingest script")
        button.wait_for(state="visible", timeout=60_000)
        button.click()
        settled(page)
        if eventually(stored, videos, timeout_s=20.0) == videos:
            break  # the same bytes ingested twice are one script: a second click never duplicates it
    assert eventually(stored, videos) == videos
    settled(page)


def shot(page: Any, name: str) -> None:
    """A screenshot of what the page shows now, kept under test-artifacts/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


CARD_TEXT = ("[class*='st-key-frame-card-'] [data-testid=stMarkdownContainer] p, "
             "[class*='st-key-image-cell-'] [data-testid=stMarkdownContainer] p")


def card_texts_misaligned(page: Any) -> tuple[int, list[str]]:
    """How many frame-card and gallery-tile paragraphs are shown, and those not aligned to their first strong
    letter's side (read from the laid-out text; icons' ligature names left out): an Arabic scene or beat must end
    at the box's right edge, an English prompt start at its left one."""
    rows: list[list[Any]] = page.eval_on_selector_all(
        CARD_TEXT,
        """els => els.filter(e => e.offsetParent !== null).map(e => {
             const c = e.cloneNode(true);
             c.querySelectorAll('span[role=img]').forEach(x => x.remove());
             const first = (c.textContent.match(/[A-Za-z\\u0600-\\u06FF]/) || [''])[0];
             const r = document.createRange(); r.selectNodeContents(e);
             const box = e.getBoundingClientRect(), text = r.getBoundingClientRect();
             const arabic = /[\\u0600-\\u06FF]/.test(first);
             const gap = arabic ? box.right - text.right : text.left - box.left;
             return [first ? gap : 0, c.textContent.trim().slice(0, 40)];
           })""")
    return len(rows), [text for gap, text in rows if gap > 4]
