"""Real sign-in in headless Chromium against a local OpenID Connect provider: producer, sign out, a stranger,
a reviewer.

The studio runs as `streamlit run <repo>/studio/app.py` from a temp directory whose own `.streamlit/` holds a copy
of the repo's config.toml and a secrets.toml with `[auth]` pointing at the provider (the repo's secrets file is
never written). The roles come from the environment (AUTH_PRODUCERS, AUTH_REVIEWERS, AUTH_ADMINS).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import session_scope
from core.runtime import open_runtime
from tests.conftest import make_test_settings
from tests.e2e.harness import NAV, ROOT, nav_link, open_page, require_chromium, running_studio, settled, shot, studio_env
from tests.fakes.oidc import oidc_provider, person
from tests.fakes.ports import free_port
from tests.studio.conftest import arabic_docx

PRODUCER = "pat@studio.test"
REVIEWER = "rita@client.test"
STRANGER = "eve@elsewhere.test"

pytestmark = pytest.mark.e2e


def _secrets_toml(port: int, metadata_url: str) -> str:
    return "\n".join([
        "[auth]",
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"',
        f'cookie_secret = "{os.urandom(16).hex()}"',
        'client_id = "course-visual-studio"',
        'client_secret = "test-client-secret"',
        f'server_metadata_url = "{metadata_url}"',
        "",
    ])


def _seed_script(data: Path) -> None:
    """One ingested script, so the reviewer has a video whose Images page they may look at."""
    from core.library import ingest_file

    rt = open_runtime(make_test_settings(data, f"sqlite:///{data / 'studio.db'}"))
    with session_scope(rt.sessions) as session:
        ingest_file(session, arabic_docx(), "course.docx", settings=rt.settings, shots=2, frames=2, actor="seed")
    rt.engine.dispose()


@pytest.fixture
def signed_studio(tmp_path: Path) -> Iterator[str]:
    require_chromium()
    users = [person(PRODUCER, "Pat Producer"), person(REVIEWER, "Rita Reviewer")]
    with oidc_provider(users) as provider:
        port = free_port()
        site = tmp_path / "site"
        (site / ".streamlit").mkdir(parents=True)
        shutil.copyfile(ROOT / ".streamlit" / "config.toml", site / ".streamlit" / "config.toml")
        (site / ".streamlit" / "secrets.toml").write_text(_secrets_toml(port, provider.metadata_url))
        data = tmp_path / "data"
        data.mkdir()
        _seed_script(data)
        env = studio_env(data, STUDIO_BACKGROUND_WORKER="0", AUTH_PRODUCERS=PRODUCER, AUTH_REVIEWERS="*@client.test",
                         AUTH_ADMINS=PRODUCER)
        with running_studio(env, cwd=site, log=tmp_path / "streamlit.log", port=port) as url:
            yield url


def _sign_in(page, url: str, email: str, *, predefined: bool) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    if predefined:
        page.get_by_role("button", name=email, exact=True).click()
    else:  # someone the provider has never seen: typed in, as a person would at a real sign-in form
        page.locator("input[name=sub]").fill(email)
        page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**")
    settled(page)


def _sign_out(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/end_session**")  # the provider ends its session too, then sends us back
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{url}/**")
    settled(page)


def test_sign_in_sign_out_stranger_and_reviewer(signed_studio: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = signed_studio
    with sync_playwright() as pw:
        browser, page = open_page(pw, url)

        # Not signed in: only the sign-in screen, no page of the studio.
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert page.locator(NAV).count() == 0
        assert page.get_by_text("Library").count() == 0

        # A producer sees the Library with its upload box, and who they are in the sidebar.
        _sign_in(page, url, PRODUCER, predefined=True)
        expect(page.get_by_role("heading", name="Library")).to_be_visible()
        expect(page.get_by_text("Upload a Word script")).to_be_visible()
        expect(page.get_by_text(PRODUCER).first).to_be_visible()
        expect(page.get_by_text("producer + admin").first).to_be_visible()
        shot(page, "signin-producer")

        # Sign out: back at the sign-in screen.
        _sign_out(page, url)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert page.get_by_text("Upload a Word script").count() == 0

        # Someone in no role list gets a clear refusal and a way out.
        _sign_in(page, url, STRANGER, predefined=False)
        expect(page.get_by_text(f"Your account {STRANGER} is not allowed in this studio")).to_be_visible()
        assert page.locator(NAV).count() == 0
        shot(page, "signin-not-allowed")
        _sign_out(page, url)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()

        # A reviewer sees the library and the images, but no upload and no render buttons.
        _sign_in(page, url, REVIEWER, predefined=True)
        expect(page.get_by_role("heading", name="Library")).to_be_visible()
        expect(page.get_by_text("reviewer").first).to_be_visible()
        assert page.get_by_text("Upload a Word script").count() == 0
        assert page.locator("input[type=file]").count() == 0
        nav_link(page, "Images").click()
        settled(page)
        expect(page.get_by_role("heading", name="Images")).to_be_visible()
        assert page.get_by_role("button", name="Render all missing images").count() == 0
        assert page.get_by_role("button", name="Render shot").count() == 0
        shot(page, "signin-reviewer")
        assert page.get_by_text("Traceback").count() == 0
        browser.close()
