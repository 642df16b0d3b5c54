"""The models' published input schemas (`GET /models?include_schema=true`), read once and shared.

Every decision about a clip — whether it ends on a second image, which duration it is sent and priced with — is
taken from the configured model's own schema when it can be had, at request, quote and page time as in the
worker's request body. So that a studio page run waits on the network at most once, the list is kept per process
for `TTL_S`, and in a small JSON file under the data dir (`higgs/models.json`) that the worker rewrites each
time it reads the list itself (`remember`), so a fresh studio process starts from what the worker last saw. A
failed read is not retried for `RETRY_AFTER_FAILURE_S`; meanwhile an older copy is used when there is one, and
callers go by the spec table (`core.higgs.schema`) and say so when there is none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.settings import Settings

log = logging.getLogger("core.higgs")

TTL_S = 900.0
RETRY_AFTER_FAILURE_S = 60.0
MISSING_RETRY_S = 10.0  # a model missing from a list read longer ago than this: read the list again
FETCH_TIMEOUT_S = 10.0
CACHE_FILE = Path("higgs") / "models.json"  # not under cache/: that is S3 storage's download cache
Source = Literal["live", "cached", "unavailable"]


@dataclass(frozen=True)
class ModelList:
    """The account's models and their schemas, where they came from, and why they are missing or old.

    `source`: "live" (read now), "cached" (read earlier, by this process or the worker), "unavailable" (no list:
    the table answers). `problem` says why the last read failed, if it did."""

    schemas: dict[str, dict[str, Any]] | None
    source: Source
    fetched_at: float | None = None  # wall-clock time of the read
    problem: str | None = None

    def schema(self, slug: str) -> dict[str, Any] | None:
        """The model's published input schema; None when the list is missing or publishes none for it."""
        found = (self.schemas or {}).get(slug)
        return found if isinstance(found, dict) and isinstance(found.get("properties"), dict) else None

    def offered(self, slug: str) -> bool | None:
        """Whether the account may use the model; None when the list could not be had."""
        return None if self.schemas is None else slug in self.schemas

    def age_s(self, now: float | None = None) -> float | None:
        return None if self.fetched_at is None else max(0.0, (now or time.time()) - self.fetched_at)


@dataclass
class _Entry:
    models: ModelList
    read_at: float  # monotonic


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)
    failures: dict[str, tuple[float, str]] = field(default_factory=dict)  # account -> (monotonic, why)
    fetching: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)


_CACHE = _Cache()


def _account(base_url: str, key_id: str) -> str:
    """Which list this is: model lists are per host and account (the key id, hashed: no key in the file)."""
    return hashlib.sha256(f"{base_url.rstrip('/')}|{key_id}".encode()).hexdigest()[:24]


def cache_path(data_dir: Path) -> Path:
    return data_dir / CACHE_FILE


def _read_file(path: Path, account: str) -> ModelList | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("account") != account or not isinstance(data.get("models"), dict):
        return None
    fetched = data.get("fetched_at")
    models = {str(k): dict(v) if isinstance(v, dict) else {} for k, v in data["models"].items()}
    return ModelList(models, "cached", float(fetched) if isinstance(fetched, (int, float)) else None)


def _write_file(path: Path, account: str, models: ModelList) -> None:
    """Written to a temporary file and renamed over the old one: a reader never sees half a file."""
    payload = {"account": account, "fetched_at": models.fetched_at, "models": models.schemas or {}}
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, sort_keys=True)
        os.replace(tmp, path)
    except OSError as exc:  # a cache: the next read asks again
        log.warning("Could not write the Higgs model cache %s: %s", path, exc)
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def remember(data_dir: Path, base_url: str, key_id: str, schemas: dict[str, dict[str, Any]]) -> ModelList:
    """Store a list just read (the worker's own read): in this process and in the data dir's cache file."""
    account = _account(base_url, key_id)
    models = ModelList({k: dict(v) for k, v in schemas.items()}, "live", time.time())
    with _CACHE.lock:
        _CACHE.entries[(account, str(data_dir))] = _Entry(models, time.monotonic())
        _CACHE.failures.pop(account, None)
    _write_file(cache_path(data_dir), account, models)
    return models


def model_list(settings: Settings, *, refresh: bool = False) -> ModelList:
    """The configured account's models with their schemas: this process's copy while younger than `TTL_S`, else
    the data dir's cache file while younger than that, else read now (one attempt, `FETCH_TIMEOUT_S`). A failed
    read falls back to the newest copy there is (marked with the problem) and is not retried for a minute."""
    creds = settings.higgs_credentials
    if creds is None:
        return ModelList(None, "unavailable", problem="no Higgs key is set")
    account = _account(settings.higgs_base_url, creds[0])
    key = (account, str(settings.data_dir))
    path = cache_path(settings.data_dir)
    with _CACHE.lock:
        entry = _CACHE.entries.get(key)
        fetch_lock = _CACHE.fetching.setdefault(key, threading.Lock())
    if entry is not None and not refresh and time.monotonic() - entry.read_at < TTL_S:
        return entry.models
    with fetch_lock:  # one read at a time per account: a second page run waits for the first one's answer
        with _CACHE.lock:
            entry = _CACHE.entries.get(key)
            failed = _CACHE.failures.get(account)
        if entry is not None and not refresh and time.monotonic() - entry.read_at < TTL_S:
            return entry.models
        if failed is not None and time.monotonic() - failed[0] < RETRY_AFTER_FAILURE_S:
            return _keep(key, _fallback(entry.models if entry is not None else _read_file(path, account),
                                        failed[1]))
        stored = _read_file(path, account)
        age = stored.age_s() if stored is not None else None
        if stored is not None and not refresh and age is not None and age < TTL_S:
            with _CACHE.lock:
                _CACHE.entries[key] = _Entry(stored, time.monotonic() - age)
            return stored
        older = stored if stored is not None and stored.schemas is not None else \
            entry.models if entry is not None else None
        try:
            schemas = _fetch(settings)
        except Exception as exc:  # noqa: BLE001 - offline, DNS, TLS, a bad key: the table answers, and we say why
            why = str(exc) or type(exc).__name__
            log.warning("Could not read the Higgs model list (%s); going by %s", why,
                        "an older copy" if older is not None else "the built-in model table")
            with _CACHE.lock:
                _CACHE.failures[account] = (time.monotonic(), why)
            return _keep(key, _fallback(older, why))
        return remember(settings.data_dir, settings.higgs_base_url, creds[0], schemas)


def _keep(key: tuple[str, str], models: ModelList) -> ModelList:
    """Keep a fallback answer in this process until the failed read may be tried again."""
    with _CACHE.lock:
        _CACHE.entries[key] = _Entry(models, time.monotonic() - TTL_S + RETRY_AFTER_FAILURE_S)
    return models


def _fallback(older: ModelList | None, why: str) -> ModelList:
    if older is None or older.schemas is None:
        return ModelList(None, "unavailable", problem=why)
    return ModelList(older.schemas, "cached", older.fetched_at, problem=why)


def _fetch(settings: Settings) -> dict[str, dict[str, Any]]:
    from core.higgs.client import client_from_settings

    with client_from_settings(settings, max_attempts=1,
                              timeout_s=min(settings.higgs_timeout_s, FETCH_TIMEOUT_S)) as client:
        return client.models()


def model_schema(settings: Settings, slug: str) -> dict[str, Any] | None:
    """The published input schema of `slug` on the configured account; None when it cannot be had. A model
    missing from a copy older than `MISSING_RETRY_S` has the list read again (it may have been added since)."""
    models = model_list(settings)
    if models.schemas is not None and slug not in models.schemas and models.source != "unavailable":
        age = models.age_s()
        if age is None or age > MISSING_RETRY_S:
            models = model_list(settings, refresh=True)
    return models.schema(slug)


def forget() -> None:
    """Drop this process's copies and remembered failures (tests; the Settings page's "Check models")."""
    with _CACHE.lock:
        _CACHE.entries.clear()
        _CACHE.failures.clear()
