"""The content-addressed asset store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.assets import AssetStore
from core.errors import NotFoundError, ValidationError


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    data = b"\x89PNG fake bytes"
    digest = hashlib.sha256(data).hexdigest()
    key = store.put(data, ".PNG")
    assert key == f"assets/{digest[:2]}/{digest}.png"
    assert store.put(data, "png") == key  # same bytes, same key, one file
    assert store.exists(key) and store.read(key) == data
    assert store.path(key) == tmp_path / key
    assert store.put(b"other", "jpeg").endswith(".jpg")
    # Written via temp file + rename: nothing half-written is left behind.
    assert [p.name for p in store.path(key).parent.iterdir()] == [f"{digest}.png"]


def test_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    for bad in ("../etc/passwd", "assets/ab/../../x.png", "/abs/path.png", "assets/zz/" + "0" * 64 + ".png"):
        with pytest.raises(ValidationError):
            store.path(bad)
    with pytest.raises(ValidationError):
        store.put(b"x", "p/n/g")


def test_missing_file_is_a_readable_error(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    key = store.put(b"abc", "png")
    store.path(key).unlink()
    assert not store.exists(key)
    with pytest.raises(NotFoundError, match="missing from the data folder"):
        store.read(key)
