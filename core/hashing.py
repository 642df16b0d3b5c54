"""Stable content hashes: the basis of deduplication and of "what changed since this was made"."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stable_hash(value: Any) -> str:
    """SHA-256 of canonical JSON (sorted keys, no whitespace, UTF-8): equal inputs give equal hashes."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
