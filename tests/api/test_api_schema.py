"""Property-based: schemathesis generates requests from /openapi.json; no answer may be a 5xx, use an
undocumented status or content type, or break its documented schema. Runs on SQLite and PostgreSQL over a
store seeded with a script, prompts and one rendered image, so generated ids sometimes hit real rows."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.api import create_app
from core.jobs import Worker
from core.runtime import Runtime
from tests.api.conftest import arabic_script, upload

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _no_network(request: httpx.Request) -> httpx.Response:
    # Generated image URLs must not leave the machine; every fetch answers 404 (a documented 422 for the client).
    return httpx.Response(404, request=request)


@pytest.fixture
def seeded_app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime, fetch_client=httpx.Client(transport=httpx.MockTransport(_no_network)))
    with TestClient(app) as client:
        script = upload(client, arabic_script(videos=1, sentences=3), shots=1, frames=2).json()
        client.post("/prompts/generate", json={"file_id": script["file_id"], "video_number": 1})
        frame_id = script["videos"][0]["shots"][0]["frames"][0]["id"]
        assert client.post("/generation/images", json={"frame_id": frame_id}).status_code == 202
    Worker(runtime, idle_s=0.05).run(drain=True)
    return app


def test_openapi_contract(seeded_app: FastAPI) -> None:
    # Schemathesis' lazy pytest fixture does not run on pytest 9, so each operation gets its own Hypothesis
    # run here: positive (schema-valid) and negative (schema-breaking) requests alike.
    schema = schemathesis.openapi.from_asgi("/openapi.json", seeded_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12  # 7 + the two generation estimates + the review actions of frames, shots, videos
    for operation in operations:
        for mode in GenerationMode:
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                      database=None)
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS)

            check()
