"""Sign-in in the studio (AppTest): the gate before any page, the not-allowed screen, what a reviewer sees, and core
refusing a render even when a page shows the button by mistake."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.models import Job, Video
from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
from core.runtime import Runtime
from studio import auth
from studio.widgets import escape_markdown as md
from tests.studio.conftest import ingest, run_app, texts

AUTH_SECRETS = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                "client_id": "studio", "client_secret": "secret",
                "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


@pytest.fixture
def roles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_PRODUCERS", "pat@studio.test")
    monkeypatch.setenv("AUTH_REVIEWERS", "*@client.test")
    monkeypatch.setenv("AUTH_ADMINS", "pat@studio.test")


def _open(user: dict[str, object], page: str | None = None, *, script: int | None = None,
          video: int | None = None) -> AppTest:
    return run_app(page, script=script, video=video, user=user, auth=AUTH_SECRETS)


def _seed(rt: Runtime) -> tuple[int, int]:
    file_id = ingest(rt)
    with rt.sessions() as s:
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()
        assert video_id is not None
        ids = frames_in_scope(s, video_id=video_id)
    refine_frames(rt.sessions, ids, OfflineRefiner(), concurrency=2)
    return file_id, video_id


def _jobs(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count(Job.id))) or 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_signed_out_and_strangers_see_no_page(studio_rt: Runtime, roles: None) -> None:
    at = _open({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Library" not in texts(at) and not at.selectbox  # no page, no script pickers

    at = _open({"is_logged_in": True, "email": "eve@elsewhere.test"})
    shown = texts(at).replace("\\", "")  # the address is markdown-escaped on the page
    assert "Your account eve@elsewhere.test is not allowed in this studio; ask an admin" in shown
    assert [b.label for b in at.button] == ["Sign out"]
    assert "Library" not in [t.value for t in at.title]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_producer_sees_who_they_are_and_the_render_buttons(studio_rt: Runtime, roles: None) -> None:
    file_id, video_id = _seed(studio_rt)
    at = _open({"is_logged_in": True, "email": "pat@studio.test", "name": "Pat"})
    assert "pat@studio.test" in " ".join(str(c.value) for c in at.sidebar.caption).replace("\\", "")
    assert "producer + admin" in " ".join(str(c.value) for c in at.sidebar.caption)
    assert "Ingest script" in [b.label for b in at.button]
    at.switch_page("../pages/images.py").run()
    assert "Render all missing images" in [b.label for b in at.button]
    at.switch_page("../pages/settings.py").run()
    assert "Sign-in is on" in texts(at) and "producer + admin" in texts(at)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_reviewer_sees_no_render_and_core_refuses_one_anyway(studio_rt: Runtime, roles: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    file_id, video_id = _seed(studio_rt)
    reviewer = {"is_logged_in": True, "email": "rita@client.test"}
    at = _open(reviewer, "images", script=file_id, video=video_id)
    labels = [b.label for b in at.button]
    assert "Render all missing images" not in labels and "Render shot" not in labels and "Render" not in labels
    assert "0 of 4 frames have an image" in texts(at)

    # A page that forgot to hide the button: the click reaches core, which refuses it in words.
    monkeypatch.setattr(auth, "can", lambda settings, permission: True)
    at = _open(reviewer, "images", script=file_id, video=video_id)
    next(b for b in at.button if b.label == "Render all missing images").click()
    at.run()
    errors = " ".join(str(e.value) for e in at.error)
    assert md("rita@client.test is signed in as reviewer and may not start renders") in errors
    assert _jobs(studio_rt) == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_auth_the_settings_page_says_local_tool(open_app) -> None:  # type: ignore[no-untyped-def]
    at = open_app("settings")
    assert "single-user local tool bound to 127.0.0.1" in texts(at)
    assert "Sign out" not in [b.label for b in at.button]
