"""The content-addressed asset store: rendered images and clips live on disk under the data dir.

A key is the path relative to the store root, `assets/ab/<sha256>.<ext>`: equal bytes get the same key, so a
re-download or a second worker writing the same output is harmless. Writes go to a temp file in the target
directory and are renamed into place, so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from core.errors import NotFoundError, ValidationError
from core.hashing import sha256_bytes

_KEY_RE = re.compile(r"^assets/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,8}$")
_EXT_RE = re.compile(r"^[a-z0-9]{1,8}$")


class AssetStore:
    """Bytes by content hash under `root` (normally the settings' data dir)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @staticmethod
    def key_for(data: bytes, ext: str) -> str:
        """The key `put(data, ext)` would return, without writing anything."""
        ext = _clean_ext(ext)
        digest = sha256_bytes(data)
        return f"assets/{digest[:2]}/{digest}.{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store `data` (atomically, once) and return its key."""
        key = self.key_for(data, ext)
        target = self.path(key)
        if target.is_file() and target.stat().st_size == len(data):
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return key

    def path(self, key: str) -> Path:
        """The file of `key`. Keys are validated so a stored key can never point outside the store."""
        if not _KEY_RE.match(key):
            raise ValidationError(f"Not an asset key: {key!r}")
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def read(self, key: str) -> bytes:
        target = self.path(key)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"The file of asset {key} is missing from the data folder") from None


def _clean_ext(ext: str) -> str:
    ext = ext.lower().lstrip(".")
    if ext == "jpeg":
        ext = "jpg"
    if not _EXT_RE.match(ext):
        raise ValidationError(f"Not a file extension: {ext!r}")
    return ext
