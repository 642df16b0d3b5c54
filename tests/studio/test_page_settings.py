"""Settings page: providers and limits shown, secrets never, the model check explains itself."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.runtime import Runtime
from studio.model_check import compare_models
from tests.studio.conftest import texts


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_settings_show_offline_providers_and_no_secret(
    open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-very-secret-value")
    at = open_app("settings")
    page = texts(at)
    assert "127.0.0.1" in page
    assert "Prompts:** `offline`" in page  # REFINER=offline wins over the key
    assert "OpenAI key: set" in page
    assert "sk-test-very-secret-value" not in page
    assert "sk-test-very-secret-value" not in str(at.json[0].value)
    check = next(b for b in at.button if b.label == "Check models")
    assert check.disabled  # no Higgsfield key


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_model_check_names_missing_slug(studio_rt: Runtime) -> None:
    cfg = studio_rt.settings
    report = compare_models(cfg, {cfg.higgs_image_model})
    assert not report.ok
    assert report.lines[0].ok and not report.lines[1].ok
    assert cfg.higgs_video_model in report.lines[1].message


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_check_models_explains_unreachable_service(
    open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_KEY", "key-id:key-secret")
    monkeypatch.setenv("HIGGS_BASE_URL", f"http://127.0.0.1:{port}")
    at = open_app("settings")
    assert "Higgsfield key: set" in texts(at) and "key-secret" not in texts(at)
    next(b for b in at.button if b.label == "Check models").click()
    at.run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("Could not")
