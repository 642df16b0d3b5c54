"""Where stored bytes live: the local data dir (the embedded default) or an S3-compatible bucket.

One small interface, `Storage`, keyed by relative POSIX paths (`assets/ab/<sha>.png`, `sources/<sha>.docx`,
`offline_requests/<id>.json`), with two implementations: `LocalStorage` (files under a root directory) and
`S3Storage` (fsspec/s3fs). Several studio and worker processes on different machines share one bucket; each keeps
its own local cache of what it downloaded (`open_local`), which is safe because every key we store is written
once and never changed (content-addressed assets and sources, write-once request records).

`make_storage(settings)` picks the backend: `storage_url` unset → the data dir; `s3://bucket/prefix` → S3 at
`s3_endpoint_url` (AWS when unset) with the configured keys, or botocore's usual chain (environment, instance
role) when none are set. Credentials are never part of `url` or any message.
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError, ProviderError, ValidationError

if TYPE_CHECKING:
    from core.settings import Settings

# A key is one or more safe segments; no "..", no absolute paths, no backslashes.
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
CACHE_DIR = "cache"  # under the data dir: local copies of remote objects


def check_key(key: str) -> str:
    """`key` if it is a safe relative key; a `ValidationError` otherwise (so a stored key never escapes)."""
    parts = key.split("/")
    if not key or len(key) > 512 or not all(_SEGMENT_RE.match(p) and p not in (".", "..") for p in parts):
        raise ValidationError(f"Not a storage key: {key!r}")
    return key


class Storage(ABC):
    """Bytes by key. `put` is atomic: a reader never sees half an object."""

    url: str  # where it lives, for display and logs: never carries credentials

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing what was there."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes of `key`; `NotFoundError` when there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def open_local(self, key: str) -> Path:
        """A local file holding the bytes of `key`, for libraries that need a path (PyAV, zip writers, a
        `FileResponse`). `NotFoundError` when there is none. Prefer `get` when bytes will do."""

    @abstractmethod
    def local_path(self, key: str) -> Path:
        """Where `open_local` puts (or finds) `key`, without touching the network; the file may not exist."""

    @property
    def description(self) -> str:
        return self.url


class LocalStorage(Storage):
    """Files under `root` (normally the settings' data dir): the layout the studio always had."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def local_path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        _write_atomically(self.local_path(key), data)

    def get(self, key: str) -> bytes:
        try:
            return self.local_path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError(f"{key} is missing from the data folder ({self.root})") from None

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def open_local(self, key: str) -> Path:
        path = self.local_path(key)
        if not path.is_file():
            raise NotFoundError(f"{key} is missing from the data folder ({self.root})")
        return path


class S3Storage(Storage):
    """Objects under `s3://bucket/prefix` on AWS or any S3-compatible server (MinIO, R2, moto)."""

    def __init__(self, url: str, *, cache_dir: Path | str, endpoint_url: str | None = None,
                 region: str | None = None, key_id: str | None = None, secret: str | None = None,
                 timeout_s: float = 30.0, attempts: int = 3) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}".rstrip("/") + (f" at {endpoint_url}" if endpoint_url else "")
        self.cache_dir = Path(cache_dir)
        self._options: dict[str, Any] = {
            "key": key_id, "secret": secret, "endpoint_url": endpoint_url,
            "client_kwargs": {"region_name": region} if region else {},
            "config_kwargs": {"connect_timeout": min(timeout_s, 10.0), "read_timeout": timeout_s,
                              "retries": {"max_attempts": attempts, "mode": "standard"}},
            # Another process may write any moment: never answer `exists` from a stale listing.
            "use_listings_cache": False,
            "skip_instance_cache": True,
        }
        self._fs: Any = None

    @property
    def fs(self) -> Any:
        """The s3fs filesystem, made on first use (importing s3fs costs ~0.3 s; most CLI commands never need it)."""
        if self._fs is None:
            import s3fs

            self._fs = s3fs.S3FileSystem(**self._options)
        return self._fs

    def _path(self, key: str) -> str:
        key = check_key(key)
        return f"{self.bucket}/{self.prefix}/{key}" if self.prefix else f"{self.bucket}/{key}"

    def local_path(self, key: str) -> Path:
        return self.cache_dir / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            self.fs.pipe_file(path, data)  # one PUT: S3 objects appear whole or not at all
        except Exception as err:  # noqa: BLE001 - botocore / aiohttp errors of every kind
            raise self._error("store", key, err) from None

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            data: bytes = self.fs.cat_file(path)
        except FileNotFoundError:
            raise NotFoundError(f"{key} is missing from the object storage ({self.url})") from None
        except Exception as err:  # noqa: BLE001
            raise self._error("read", key, err) from None
        return data

    def exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            # Not `fs.isfile`: it answers False when the storage is unreachable, and a put would then fail late.
            info = self.fs.info(path)
        except FileNotFoundError:
            return False
        except Exception as err:  # noqa: BLE001
            raise self._error("check", key, err) from None
        return bool(info.get("type") == "file")

    def open_local(self, key: str) -> Path:
        target = self.local_path(key)
        if target.is_file():  # every key is written once, so a cached copy is never stale
            return target
        _write_atomically(target, self.get(key), durable=False)  # a cache: the bucket holds the durable copy
        return target

    def _error(self, verb: str, key: str, err: Exception) -> ProviderError:
        # An outage of the object storage is an external service failing: the worker retries such a job later.
        # botocore messages name the endpoint and the operation, never the credentials.
        return ProviderError(f"Could not {verb} {key} in the object storage ({self.url}): {err}",
                             category="storage", retryable=True)


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/some/prefix`; a `ValidationError` a producer can act on otherwise."""
    if not url.startswith("s3://"):
        raise ValidationError(f"STORAGE_URL must look like s3://bucket/prefix, not {url!r}")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not _BUCKET_RE.match(bucket):
        raise ValidationError(f"STORAGE_URL names no valid bucket: {url!r}")
    prefix = prefix.strip("/")
    if prefix:
        check_key(prefix)
    return bucket, prefix


def make_storage(settings: Settings) -> Storage:
    """The storage `settings` describe: the data dir by default, S3 for `storage_url = "s3://…"`."""
    url = (settings.storage_url or "").strip()
    if not url:
        return LocalStorage(settings.data_dir)
    if url.startswith("file://"):
        return LocalStorage(Path(url.removeprefix("file://")).expanduser())
    if url.startswith("s3://"):
        key_id = settings.aws_access_key_id.get_secret_value() if settings.aws_access_key_id else None
        secret = settings.aws_secret_access_key.get_secret_value() if settings.aws_secret_access_key else None
        return S3Storage(url, cache_dir=settings.data_dir / CACHE_DIR, endpoint_url=settings.s3_endpoint_url,
                         region=settings.s3_region, key_id=key_id, secret=secret)
    raise ValidationError(f"Unknown STORAGE_URL {url!r}: leave it unset for the data folder, or use s3://bucket/prefix")


def _write_atomically(target: Path, data: bytes, *, durable: bool = True) -> None:
    """Temp file in the target directory, fsync (when `durable`), rename: a crash or a concurrent reader never
    sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
