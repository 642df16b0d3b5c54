"""The error shape, the bearer token, the OpenAPI document and the serve command's bind rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from core.api import create_app
from core.api.auth import token_matches
from core.cli.serve_cmd import check_bind
from core.errors import StudioError
from core.runtime import Runtime

TOKEN = "s3cret-token-for-tests"


def _is_error_body(body: object) -> bool:
    return isinstance(body, dict) and set(body) == {"detail", "category"} and all(
        isinstance(v, str) and v for v in body.values()
    )


def test_framework_errors_use_the_error_shape(client: TestClient) -> None:
    missing = client.get("/no/such/path")
    assert missing.status_code == 404 and _is_error_body(missing.json())
    assert missing.json()["category"] == "not_found"

    wrong_method = client.delete("/jobs/1")
    assert wrong_method.status_code == 405 and _is_error_body(wrong_method.json())
    assert "GET" in wrong_method.headers["allow"]

    bad_id = client.get("/jobs/not-a-number")
    assert bad_id.status_code == 422 and _is_error_body(bad_id.json())
    assert bad_id.json()["category"] == "invalid"
    assert "job_id" in bad_id.json()["detail"]

    bad_body = client.post("/generation/images", json={"prompt_id": 1, "frame_id": 2})
    assert bad_body.status_code == 422 and "exactly one" in bad_body.json()["detail"]

    not_json = client.post("/prompts/generate", content=b"{oops", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and _is_error_body(not_json.json())

    unknown_job = client.get("/jobs/12345")
    assert unknown_job.status_code == 404 and unknown_job.json()["category"] == "not_found"
    assert "12345" in unknown_job.json()["detail"]


def test_unexpected_errors_are_a_generic_500(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(runtime)

    def explode() -> None:
        raise RuntimeError("database password is hunter2")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/explode")
    assert resp.status_code == 500
    assert resp.json() == {"detail": resp.json()["detail"], "category": "internal"}
    assert "hunter2" not in resp.text and "Traceback" not in resp.text
    assert "hunter2" in caplog.text  # logged for the operator


def test_token_is_required_on_every_request(runtime: Runtime) -> None:
    with TestClient(create_app(runtime, api_token=TOKEN)) as client:
        for path in ("/jobs/1", "/openapi.json", "/no/such/path"):
            resp = client.get(path)
            assert resp.status_code == 401, path
            assert resp.json()["category"] == "unauthorized"
            assert resp.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/jobs/1", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401 and "wrong" in wrong.json()["detail"]
        basic = client.get("/jobs/1", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        ok = client.get("/jobs/1", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 404  # authorised; the job just does not exist
        schema = client.get("/openapi.json", headers={"Authorization": f"bearer {TOKEN}"}).json()
    assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schema["security"] == [{"bearer": []}]


def test_unauthenticated_upload_is_refused_before_the_body_is_read(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(max_upload_mb=0.05)
    with TestClient(create_app(runtime, api_token=TOKEN)) as client:
        resp = client.post("/files/extract", files={"file": ("x.docx", b"\0" * 500_000)})
    assert resp.status_code == 401  # not 413: the token is checked first


def test_token_matching() -> None:
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"bearer   {TOKEN} ", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("Bearer", TOKEN)
    assert not token_matches(f"Bearer {TOKEN}x", TOKEN)
    assert not token_matches(f"Token {TOKEN}", TOKEN)


def test_serve_refuses_public_bind_without_token() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        check_bind(host, None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(StudioError) as err:
        check_bind("0.0.0.0", None)
    assert err.value.category == "insecure_bind"
    assert "CVS_API_TOKEN" in str(err.value)


def test_openapi_declares_the_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "ErrorBody" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for status in ("404", "422", "500"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, status)
    extract = schema["paths"]["/files/extract"]["post"]["responses"]
    assert {"413", "415"} <= set(extract)
    assert set(schema["paths"]) >= {
        "/files/extract", "/files/{file_id}/storyboard", "/prompts/generate", "/generation/images",
        "/generation/video", "/jobs/{job_id}", "/assets/{asset_id}",
    }
