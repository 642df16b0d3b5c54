"""API fixtures: the app over the parametrized `runtime` (SQLite and PostgreSQL), through FastAPI's TestClient,
plus builders for Word scripts and a small-limit variant for upload-size tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.api import create_app
from core.db import make_engine, make_session_factory, migrate
from core.runtime import Runtime
from tests.conftest import make_test_settings
from tests.core.docx_factory import make_docx
from core.settings import Settings

@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Clips from frames not yet approved: this module tests rendering; the approval gate has its own tests."""
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def arabic_script(videos: int = 2, sentences: int = 6, *, tag: str = "") -> bytes:
    """A Word script: a preface, then `videos` videos of `sentences` sentences each. `tag` makes bytes unique."""
    ordinals = ["الأول", "الثاني", "الثالث", "الرابع", "الخامس"]
    blocks: list[tuple[Any, ...]] = [("para", f"مقدمة الدورة عن الطاقة الشمسية {tag}".strip())]
    for v in range(videos):
        blocks.append(("heading", f"الفيديو {ordinals[v]}: الدرس {v + 1}"))
        for s in range(sentences):
            blocks.append(("para", f"الجملة رقم {s + 1} في الدرس {v + 1} تشرح فكرة مهمة عن الألواح."))
    return make_docx(blocks)


def upload(client: TestClient, data: bytes, name: str = "script.docx", **params: Any) -> Any:
    return client.post("/files/extract", files={"file": (name, data, DOCX_TYPE)}, params=params)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


@pytest.fixture
def make_runtime(tmp_path: Path, db_url: str) -> Iterator[Callable[..., Runtime]]:
    """Runtimes on the parametrized database with settings overrides (e.g. a tiny upload limit)."""
    made: list[Runtime] = []

    def build(**overrides: Any) -> Runtime:
        settings = make_test_settings(tmp_path / f"data{len(made)}", db_url, **overrides)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.db_url)
        migrate(engine)
        made.append(Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine)))
        return made[-1]

    yield build
    for rt in made:
        rt.engine.dispose()
