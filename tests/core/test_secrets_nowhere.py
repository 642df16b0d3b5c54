"""The API keys never leave the settings: a whole flow with recognisable fake keys, then a search for them.

The flow runs against the local fake OpenAI and Higgs servers with keys that contain `SECRETCANARY`: ingest,
refine with OpenAI (with a 401, a 500 and a malformed reply on the way), render images and a clip with Higgs
(with a 401, a 500, a non-JSON reply and an error that echoes the key), drain the worker, and open every studio
page with the keys in the environment. Then the canary is searched for in every text and JSON column of every
table, the raw SQLite file, every file under the data dir, all logging at DEBUG, every page's elements, every
job and activity error text, and the settings' repr: it appears nowhere.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import select

from core.db import session_scope
from core.jobs import request_clip, request_video_images
from core.jobs.worker import Worker
from core.library import ingest_file
from core.models import Activity, Base, Job, PromptVersion, Shot, Storyboard, Video
from core.prompts import frames_in_scope, make_refiner, refine_frames
from core.prompts.openai_refiner import RetryPolicy
from core.render.higgs_provider import HiggsProvider
from core.render.providers import OfflineProvider
from core.runtime import Runtime, open_runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.fakes.higgs_server import FakeHiggsServer, Scripted
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.studio.conftest import arabic_docx, run_app
from tests.studio.test_page_escaping import page_elements

CANARY = "SECRETCANARY"
OPENAI_KEY = f"sk-test-{CANARY}-openai"
HIGGS_ID, HIGGS_SECRET = "canaryid", f"{CANARY}-higgs"
HF_KEY = f"{HIGGS_ID}:{HIGGS_SECRET}"
PAGES = ("library", "storyboard", "prompts", "images", "clips", "jobs", "review", "exports", "settings")
IMAGE_MODEL = "higgsfield-ai/soul/standard"


def needles() -> list[bytes]:
    """The secrets as they could leak: plain, in the Authorization header forms, base64 (basic auth)."""
    plain = [OPENAI_KEY, HIGGS_SECRET, HF_KEY, CANARY]
    encoded = [base64.b64encode(s.encode()).decode() for s in (OPENAI_KEY, HF_KEY, HIGGS_SECRET)]
    return [s.encode() for s in plain + encoded] + [s.encode("utf-16-le") for s in plain]


def leaks(blob: bytes | str) -> list[str]:
    data = blob.encode("utf-8", "replace") if isinstance(blob, str) else blob
    return [n.decode("utf-8", "replace") for n in needles() if n in data]


@pytest.fixture
def servers() -> Iterator[tuple[FakeOpenAIServer, FakeHiggsServer]]:
    with FakeOpenAIServer(require_key=OPENAI_KEY) as openai, \
            FakeHiggsServer(latency_s=0.05, key_id=HIGGS_ID, key_secret=HIGGS_SECRET) as higgs:
        yield openai, higgs


@pytest.fixture
def debug_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Path]:
    """Everything logged at DEBUG, by any logger, also written to a file in the data dir."""
    path = tmp_path / "data" / "logs" / "debug.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def _settings(tmp_path: Path, openai: FakeOpenAIServer, higgs: FakeHiggsServer) -> Settings:
    return make_test_settings(
        tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'studio.db'}", openai_api_key=OPENAI_KEY,
        openai_base_url=openai.base_url, refiner="openai", hf_key=HF_KEY, higgs_base_url=higgs.base_url,
        renderer="higgs", allow_private_downloads=True, allow_http_downloads=True, allow_unapproved_clips=True,
        openai_timeout_s=5.0, image_deadline_s=20.0, clip_deadline_s=30.0)


def _providers(rt: Runtime) -> dict[str, Any]:
    from core.higgs import PollSchedule

    higgs = HiggsProvider.from_settings(rt.settings, rt.assets, poll=PollSchedule(0.05, 1.5, 0.2, jitter=0.1),
                                        backoff_base_s=0.01, timeout_s=3.0, max_attempts=2)
    return {"higgs": higgs, "offline": OfflineProvider(rt.assets, clip_duration_s=1)}


def _run_flow(rt: Runtime, openai: FakeOpenAIServer, higgs: FakeHiggsServer) -> None:
    with session_scope(rt.sessions) as s:
        file_id = ingest_file(s, arabic_docx(), "course.docx", settings=rt.settings, shots=2, frames=2,
                              actor="producer").source_file_id
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id)
                             .order_by(Video.position)).first()
        assert video_id is not None
    with rt.sessions() as s:
        frame_ids = frames_in_scope(s, video_id=video_id)
    refiner = make_refiner(rt.settings, retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02))
    # Errors first: a refused key (answered 401 because the header is wrong), a 500 twice, a malformed reply.
    openai.script(Reply("unauthorized"), Reply("server_error"), Reply("server_error"), Reply("malformed"),
                  Reply("malformed"))
    first = refine_frames(rt.sessions, frame_ids[:3], refiner, concurrency=1, actor="producer")
    assert first.failed >= 2 and first.errors, first  # the errors really happened and were reported
    openai.clear()  # whatever scripted error is left over; the rest of the flow succeeds
    summary = refine_frames(rt.sessions, frame_ids, refiner, concurrency=2, actor="producer")
    assert summary.failed == 0, summary.errors
    with rt.sessions() as s:
        assert s.scalars(select(PromptVersion.provider).distinct()).all() == ["openai"]

    # Higgs: a 401 and a 422 whose bodies echo the key (some gateways do), a 500, and a non-JSON status reply.
    higgs.script("submit", Scripted.error(401, f"Invalid key {HF_KEY} for Authorization: Key {HF_KEY}"),
                 Scripted.error(500, "internal error"),
                 Scripted.error(422, [{"loc": ["body", "prompt"], "msg": f"bad request from key {HF_KEY}"}]))
    higgs.script("status", Scripted(status=200, raw=b"<html>gateway hiccup</html>",
                                    headers={"Content-Type": "text/html"}))
    with session_scope(rt.sessions) as s:
        request_video_images(s, video_id, settings=rt.settings, actor="producer")
    Worker(rt, providers=_providers(rt), backoff_s=0.02, idle_s=0.02, max_attempts=3).run(drain=True)
    with session_scope(rt.sessions) as s:
        shot_id = s.scalars(select(Shot.id).join(Storyboard, Shot.storyboard_id == Storyboard.id)
                            .where(Storyboard.video_id == video_id).order_by(Shot.position)).first()
        assert shot_id is not None
        request_video_images(s, video_id, settings=rt.settings, actor="producer")  # the failed one again
    Worker(rt, providers=_providers(rt), backoff_s=0.02, idle_s=0.02).run(drain=True)
    with session_scope(rt.sessions) as s:
        request_clip(s, shot_id, settings=rt.settings, actor="producer")
    Worker(rt, providers=_providers(rt), backoff_s=0.02, idle_s=0.02).run(drain=True)
    with rt.sessions() as s:
        jobs = s.scalars(select(Job)).all()
        assert any(j.kind == "clip" and j.status == "succeeded" for j in jobs), [(j.kind, j.status, j.error)
                                                                               for j in jobs]
        assert any(j.status == "failed" and j.error for j in jobs)  # the 401 made an error text


def _page_texts(monkeypatch: pytest.MonkeyPatch, settings: Settings, file_id: int, video_id: int) -> list[str]:
    env = {"STUDIO_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.db_url,
           "STUDIO_BACKGROUND_WORKER": "0", "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": settings.openai_base_url,
           "HF_KEY": HF_KEY, "HIGGS_BASE_URL": settings.higgs_base_url, "REFINER": "openai", "RENDERER": "higgs",
           "ALLOW_PRIVATE_DOWNLOADS": "true", "ALLOW_HTTP_DOWNLOADS": "true"}
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    st.cache_resource.clear()
    out: list[str] = []
    try:
        for page in PAGES:
            at = run_app(page, script=file_id, video=video_id)
            out.append(f"--- {page}\n" + "\n".join(str(proto) for _, proto in page_elements(at)))
    finally:
        st.cache_resource.clear()
    return out


def _database_texts(rt: Runtime) -> list[str]:
    """Every value of every column of every table, as text (JSON columns included)."""
    out: list[str] = []
    with rt.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                out.extend(f"{table.name}.{k}={v!r}" for k, v in row._mapping.items())
    return out


def test_the_keys_appear_nowhere(tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeHiggsServer],
                                 debug_log: Path, caplog: pytest.LogCaptureFixture,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    openai, higgs = servers
    settings = _settings(tmp_path, openai, higgs)
    rt = open_runtime(settings)
    try:
        _run_flow(rt, openai, higgs)
        with rt.sessions() as s:
            video = s.scalars(select(Video).order_by(Video.id)).first()
            assert video is not None
            file_id, video_id = video.source_file_id, video.id
        pages = _page_texts(monkeypatch, settings, file_id, video_id)
        database = _database_texts(rt)
        with rt.sessions() as s:
            errors = [j.error or "" for j in s.scalars(select(Job))]
            activity = [f"{a.action} {a.detail!r}" for a in s.scalars(select(Activity))]
    finally:
        rt.engine.dispose()

    # The keys were really in play: both servers saw them, and only on their own requests.
    assert any(r.headers.get("authorization") == f"Bearer {OPENAI_KEY}" for r in openai.requests)
    assert higgs.charged_requests >= 1 and higgs.state.keyed_downloads == 0

    for handler in logging.getLogger().handlers:
        handler.flush()
    log_text = caplog.text + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records)
    assert len(caplog.records) > 20 and "Higgs" in log_text  # logging really was captured at DEBUG
    found: dict[str, list[str]] = {}
    places: dict[str, bytes | str] = {
        "settings repr": repr(settings) + str(settings) + repr(settings.public_summary()),
        "runtime repr": repr(rt),
        "logs": log_text,
        "pages": "\n".join(pages),
        "database rows": "\n".join(database),
        "job errors": "\n".join(errors),
        "activity": "\n".join(activity),
    }
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "studio.db" for p in files) and any(p.suffix == ".mp4" for p in files)
    assert debug_log in files and debug_log.stat().st_size > 0
    for path in files:
        places[f"file {path.relative_to(settings.data_dir)}"] = path.read_bytes()
    for place, blob in places.items():
        hit = leaks(blob)
        if hit:
            found[place] = hit
    assert not found, f"secrets leaked into: {found}"
    assert any("Higgs" in e or "key" in e.lower() for e in errors if e)  # error texts were produced and checked
