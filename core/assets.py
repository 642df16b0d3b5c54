"""The content-addressed asset store: rendered images and clips, kept in the configured `Storage`.

A key is `assets/ab/<sha256>.<ext>`: equal bytes get the same key, so a re-download or a second worker writing
the same output is harmless, and a cached copy of a key can never go stale. The storage is the data dir by
default (keys are then paths relative to it) or an S3-compatible bucket shared by every process (see
`core.storage`); writes are atomic either way, so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import StudioError, ValidationError
from core.hashing import sha256_bytes
from core.storage import LocalStorage, Storage, make_storage

if TYPE_CHECKING:
    from core.settings import Settings

_KEY_RE = re.compile(r"^assets/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,8}$")
_EXT_RE = re.compile(r"^[a-z0-9]{1,8}$")


class AssetStore:
    """Bytes by content hash in `storage` (a `Storage`, or a directory for local files under it)."""

    def __init__(self, storage: Storage | Path | str) -> None:
        self.storage: Storage = storage if isinstance(storage, Storage) else LocalStorage(storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> AssetStore:
        """The store every process configured like `settings` shares (data dir or `storage_url`)."""
        return cls(make_storage(settings))

    @staticmethod
    def key_for(data: bytes, ext: str) -> str:
        """The key `put(data, ext)` would return, without writing anything."""
        ext = _clean_ext(ext)
        digest = sha256_bytes(data)
        return f"assets/{digest[:2]}/{digest}.{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store `data` (atomically, once) and return its key."""
        key = self.key_for(data, ext)
        if not self.storage.exists(key):  # same key, same bytes: a second upload would change nothing
            self.storage.put(key, data)
        return key

    def path(self, key: str) -> Path:
        """The local file of `key`: the real file for local storage, the cache slot for remote storage (it may
        not exist yet; `open_local` fetches it). Keys are validated so a stored key never points outside."""
        return self.storage.local_path(check_asset_key(key))

    def open_local(self, key: str) -> Path:
        """A local file with the bytes of `key` (downloaded once into the cache for remote storage);
        `NotFoundError` when the asset is missing."""
        return self.storage.open_local(check_asset_key(key))

    def exists(self, key: str) -> bool:
        return self.storage.exists(check_asset_key(key))

    def read(self, key: str) -> bytes:
        """The bytes of `key`; `NotFoundError` (saying where it was looked for) when missing."""
        return self.storage.get(check_asset_key(key))

    def local_file(self, key: str | None) -> Path | None:
        """`open_local(key)`, or None when there is no key, it is malformed or its file is missing: what pages
        and exports show as "no image" instead of failing."""
        if not key:
            return None
        try:
            return self.open_local(key)
        except StudioError:  # malformed, missing or unreachable: drawn as "no image", never a crash
            return None


def check_asset_key(key: str) -> str:
    if not _KEY_RE.match(key):
        raise ValidationError(f"Not an asset key: {key!r}")
    return key


def _clean_ext(ext: str) -> str:
    ext = ext.lower().lstrip(".")
    if ext == "jpeg":
        ext = "jpg"
    if not _EXT_RE.match(ext):
        raise ValidationError(f"Not a file extension: {ext!r}")
    return ext
