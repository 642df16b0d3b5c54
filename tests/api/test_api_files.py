"""`POST /files/extract` and `GET /files/{id}/storyboard` over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from core.api import create_app
from core.runtime import Runtime
from tests.api.conftest import arabic_script, upload
from tests.core.docx_factory import make_docx, make_zip, ole_file


def _frame_texts(body: dict[str, Any]) -> list[str]:
    return [f["scene_text"] for v in body["videos"] for s in v["shots"] for f in s["frames"]]


def test_extract_stores_the_storyboard_and_dedups(client: TestClient) -> None:
    data = arabic_script(videos=2, sentences=6)
    first = upload(client, data, shots=2, frames=3)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["created"] is True
    assert [v["number"] for v in body["videos"]] == [1, 2]
    assert "الدرس 1" in body["videos"][0]["title"]
    for video in body["videos"]:
        assert len(video["shots"]) == 2
        assert all(len(s["frames"]) == 3 for s in video["shots"])
    texts = _frame_texts(body)
    assert all(t.strip() for t in texts)
    assert any("الجملة رقم 1 في الدرس 2" in t for t in texts)

    again = upload(client, data, name="renamed.docx")
    assert again.status_code == 200
    assert again.json()["file_id"] == body["file_id"]
    assert again.json()["created"] is False

    stored = client.get(f"/files/{body['file_id']}/storyboard")
    assert stored.status_code == 200
    assert stored.json()["videos"] == body["videos"]


def test_bad_uploads_get_status_and_category(client: TestClient) -> None:
    cases = {
        "not_docx": (b"just some text, not a zip at all" * 10, 415),
        "encrypted": (ole_file(encrypted=True), 422),
        "empty": (b"", 422),
        "no_text": (make_docx([("para", "   ")]), 422),
        "corrupt": (arabic_script()[:3000], 422),  # a truncated .docx
    }
    for category, (data, status) in cases.items():
        resp = upload(client, data)
        assert resp.status_code == status, (category, resp.text)
        body = resp.json()
        assert set(body) == {"detail", "category"}
        assert body["category"] == category, body
        assert body["detail"] and "Traceback" not in body["detail"]
    assert client.get("/files/999/storyboard").status_code == 404


def test_zip_without_a_document_is_not_a_word_file(client: TestClient) -> None:
    resp = upload(client, make_zip({"hello.txt": b"a zip without a Word document"}))
    assert resp.status_code == 415
    assert resp.json()["category"] == "not_docx"


def test_legacy_doc_is_unsupported_media_type(client: TestClient) -> None:
    resp = upload(client, ole_file(encrypted=False), name="old.doc")
    assert resp.status_code == 415
    assert resp.json()["category"] == "not_docx"


def test_upload_over_the_limit_is_413(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(max_upload_mb=0.05)  # 52 KB; the body limit allows 64 KB of multipart envelope
    limit = runtime.settings.max_upload_bytes
    with TestClient(create_app(runtime)) as client:
        # Under the body limit but over the file limit: refused after reading at most limit + 1 bytes.
        just_over = upload(client, b"PK" + b"\0" * limit)
        assert just_over.status_code == 413, just_over.text
        assert just_over.json()["category"] == "too_large"
        # A declared Content-Length over the body limit is refused before the body is read.
        big = upload(client, b"\0" * (limit * 4))
        assert big.status_code == 413
        assert big.json() == {"detail": big.json()["detail"], "category": "too_large"}
        assert "MB" in big.json()["detail"]


def test_streamed_body_without_length_is_cut_off(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(max_upload_mb=0.05)
    boundary = "cvsboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.docx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def chunks() -> Any:
        yield head
        for _ in range(64):  # 64 × 16 KB = 1 MB, far over the limit, and no Content-Length header
            yield b"\0" * 16384
        yield f"\r\n--{boundary}--\r\n".encode()

    with TestClient(create_app(runtime)) as client:
        resp = client.post(
            "/files/extract",
            content=chunks(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert resp.status_code == 413
    assert resp.json()["category"] == "too_large"


def test_json_bodies_are_capped_too(client: TestClient) -> None:
    huge = b'{"file_id": 1, "video_number": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = client.post("/prompts/generate", content=huge, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["category"] == "too_large" and "request body" in resp.json()["detail"]


def test_studio_and_api_share_one_upload_unit_stated_in_the_error(make_runtime: Callable[..., Runtime]) -> None:
    """MAX_UPLOAD_MB counts decimal megabytes everywhere: a file one byte over is refused by the API and by the
    studio's core check alike, and both say the limit in MB and bytes (was MiB in one, MB in the other)."""
    import pytest

    from core.errors import IngestError
    from core.ingest.validate import browser_upload_mb, check_upload

    runtime = make_runtime(max_upload_mb=0.05)
    limit = runtime.settings.max_upload_bytes
    assert limit == 50_000
    assert browser_upload_mb(limit) == 1 and browser_upload_mb(50_000_000) == 50
    over = b"PK" + b"\0" * (limit - 1)
    with TestClient(create_app(runtime)) as client:
        refused = upload(client, over)
    assert refused.status_code == 413
    assert "0.05 MB (50,000 bytes)" in refused.json()["detail"]
    with pytest.raises(IngestError) as err:
        check_upload(over, max_upload_bytes=limit)  # what the studio's upload calls
    assert "the upload limit is 0.05 MB (50,000 bytes)" in str(err.value)
