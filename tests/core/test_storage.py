"""Asset storage: one interface over the data dir and S3-compatible object storage (moto in server mode).

The unit tests run the same body against both backends; the last tests run a whole flow (ingest, refine,
render, read back from another process's view, the API, an archive) with the assets in a bucket, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.api import create_app
from core.assets import AssetStore
from core.db import session_scope
from core.errors import NotFoundError, ProviderError, ValidationError
from core.exports.runner import run_export
from core.jobs import Worker, request_video_images
from core.library import ingest_file, source_path
from core.models import Asset, Job, SourceFile
from core.prompts.batch import frames_in_scope, refine_frames
from core.prompts.offline import OfflineRefiner
from core.runtime import Runtime, open_runtime
from core.settings import Settings
from core.storage import LocalStorage, S3Storage, Storage, make_storage
from tests.conftest import make_test_settings
from tests.core.docx_factory import make_docx
from tests.fakes.ports import free_port
from tests.fakes.s3_server import KEY_ID, REGION, SECRET, S3Server, running_s3

StorageFactory = Callable[[Path], Storage]  # a storage as a process with this data dir would see it


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> StorageFactory:
    """Storages sharing one place: the same root (local) or the same bucket (S3), each with its own cache."""
    if request.param == "local":
        root = tmp_path / "shared"
        return lambda data_dir: LocalStorage(root)
    server: S3Server = request.getfixturevalue("s3")
    bucket = server.new_bucket()
    return lambda data_dir: S3Storage(f"s3://{bucket}/studio", cache_dir=data_dir / "cache",
                                      endpoint_url=server.endpoint_url, region=REGION, key_id=KEY_ID, secret=SECRET)


# ---- the interface, both backends --------------------------------------------------------------------------

def test_put_get_exists_and_overwrite(backend: StorageFactory, tmp_path: Path) -> None:
    storage = backend(tmp_path / "a")
    assert not storage.exists("sources/x.docx")
    storage.put("sources/x.docx", b"first")
    assert storage.exists("sources/x.docx") and storage.get("sources/x.docx") == b"first"
    storage.put("sources/x.docx", b"second")
    assert storage.get("sources/x.docx") == b"second"
    assert not storage.exists("sources")  # a "directory" is not an object
    with pytest.raises(NotFoundError, match="missing"):
        storage.get("sources/nope.docx")


def test_another_process_sees_what_one_wrote(backend: StorageFactory, tmp_path: Path) -> None:
    writer, reader = backend(tmp_path / "writer"), backend(tmp_path / "reader")
    writer.put("offline_requests/offline-abc.json", b'{"kind": "image"}')
    assert reader.exists("offline_requests/offline-abc.json")
    assert reader.get("offline_requests/offline-abc.json") == b'{"kind": "image"}'


def test_open_local_gives_a_file_with_the_bytes(backend: StorageFactory, tmp_path: Path) -> None:
    writer, reader = backend(tmp_path / "writer"), backend(tmp_path / "reader")
    data = bytes(range(256)) * 100
    writer.put("assets/ab/clip.mp4", data)
    path = reader.open_local("assets/ab/clip.mp4")
    assert path.is_file() and path.read_bytes() == data
    assert path == reader.local_path("assets/ab/clip.mp4")
    if isinstance(reader, S3Storage):  # a download cached in the reader's own data dir, reused next time
        assert path.is_relative_to(tmp_path / "reader" / "cache")
        assert not writer.local_path("assets/ab/clip.mp4").exists()
        assert reader.open_local("assets/ab/clip.mp4").stat().st_mtime_ns == path.stat().st_mtime_ns
    with pytest.raises(NotFoundError):
        reader.open_local("assets/ab/missing.mp4")


@pytest.mark.parametrize("bad", ["../etc/passwd", "assets/../../x", "/abs/x.png", "assets//x.png", "a\\b.png",
                                 "", "assets/.hidden", "assets/x y.png"])
def test_keys_cannot_escape(backend: StorageFactory, tmp_path: Path, bad: str) -> None:
    storage = backend(tmp_path / "a")
    for call in (storage.exists, storage.get, storage.open_local, lambda k: storage.put(k, b"x")):
        with pytest.raises(ValidationError, match="Not a storage key"):
            call(bad)


def test_asset_store_over_both_backends(backend: StorageFactory, tmp_path: Path) -> None:
    store, other = AssetStore(backend(tmp_path / "a")), AssetStore(backend(tmp_path / "b"))
    data = b"\x89PNG not really"
    digest = hashlib.sha256(data).hexdigest()
    key = store.put(data, ".PNG")
    assert key == f"assets/{digest[:2]}/{digest}.png"
    assert store.put(data, "png") == key  # same bytes, same key
    assert other.exists(key) and other.read(key) == data
    assert other.open_local(key).read_bytes() == data
    assert other.local_file(key) == other.path(key)
    assert other.local_file("assets/00/" + "0" * 64 + ".png") is None  # missing: "no image", not a crash
    assert other.local_file("../../etc/passwd") is None
    with pytest.raises(ValidationError):
        other.read("sources/x.docx")  # the asset store only hands out asset keys


# ---- configuration ---------------------------------------------------------------------------------------

def test_make_storage_follows_the_settings(tmp_path: Path) -> None:
    local = make_storage(make_test_settings(tmp_path / "data"))
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "data").resolve()

    remote = make_storage(make_test_settings(tmp_path / "data", storage_url="s3://media-bucket/course/a/",
                                             s3_endpoint_url="https://minio.internal:9000",
                                             aws_access_key_id="AKIAFAKEKEYID", aws_secret_access_key="s3cr3t-V4LUE"))
    assert isinstance(remote, S3Storage)
    assert (remote.bucket, remote.prefix) == ("media-bucket", "course/a")
    assert remote.local_path("assets/x.png") == (tmp_path / "data").resolve() / "cache" / "assets/x.png"
    assert remote.description == "s3://media-bucket/course/a at https://minio.internal:9000"
    assert "AKIAFAKEKEYID" not in remote.description and "s3cr3t" not in remote.description

    for bad, message in (("s3://", "no valid bucket"), ("s3://B_ad/x", "no valid bucket"),
                         ("s3://bucket/../x", "Not a storage key"), ("gs://bucket/x", "Unknown STORAGE_URL")):
        with pytest.raises(ValidationError, match=message):
            make_storage(make_test_settings(tmp_path / "data", storage_url=bad))


def test_unreachable_object_storage_is_a_retryable_error_without_the_keys(tmp_path: Path) -> None:
    storage = S3Storage("s3://media-bucket/p", cache_dir=tmp_path, endpoint_url=f"http://127.0.0.1:{free_port()}",
                        region=REGION, key_id="AKIAFAKEKEYID", secret="s3cr3t-V4LUE", timeout_s=2, attempts=1)
    for call in (lambda: storage.get("assets/x.png"), lambda: storage.put("assets/x.png", b"x"),
                 lambda: storage.exists("assets/x.png")):
        with pytest.raises(ProviderError) as info:
            call()
        assert info.value.retryable and info.value.category == "storage"
        assert "s3://media-bucket/p" in str(info.value)
        assert "s3cr3t" not in str(info.value) and "AKIAFAKEKEYID" not in str(info.value)


# ---- a whole flow with the assets in a bucket (SQLite and PostgreSQL) ----------------------------------------

@pytest.fixture
def bucket(s3: S3Server) -> str:
    return s3.new_bucket()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, s3: S3Server, bucket: str) -> Settings:
    """The `runtime` fixture's settings, with the assets in a fresh bucket."""
    return make_test_settings(tmp_path / "data", db_url, **s3.settings_overrides(bucket))


def _script() -> bytes:
    return make_docx([("heading", "الفيديو الأول: المقدمة"),
                      ("para", "يدخل المعلم إلى الفصل. يكتب العنوان على السبورة. يسأل طالب سؤالاً. يجيب المعلم.")])


def test_a_studio_on_object_storage_keeps_nothing_only_locally(runtime: Runtime, s3: S3Server, bucket: str,
                                                               tmp_path: Path) -> None:
    settings = runtime.settings
    script = _script()
    with session_scope(runtime.sessions) as s:
        result = ingest_file(s, script, "course.docx", settings=settings, shots=2, frames=2)
    refine_frames(runtime.sessions, _frames(runtime, result.source_file_id), OfflineRefiner(), concurrency=2)
    with session_scope(runtime.sessions) as s:
        video_id = s.scalar(select(SourceFile).where(SourceFile.id == result.source_file_id)).videos[0].id
        batch = request_video_images(s, video_id, settings=settings)
    assert len(batch.jobs) == 4
    assert Worker(runtime, concurrency=2).run(drain=True) == 4

    with runtime.sessions() as s:
        assets = list(s.scalars(select(Asset).order_by(Asset.id)))
        source = s.get(SourceFile, result.source_file_id)
        assert source is not None
        stored_name = source.stored_name
        statuses = [j.status for j in s.scalars(select(Job))]
    assert statuses == ["succeeded"] * 4 and len(assets) == 4
    # Everything durable is in the bucket; the data dir holds no asset, source or request record.
    objects = set(s3.keys(bucket, "studio/"))
    assert {f"studio/{a.storage_key}" for a in assets} <= objects
    assert f"studio/{stored_name}" in objects
    assert len([k for k in objects if k.startswith("studio/offline_requests/")]) == 4
    for folder in ("assets", "sources", "offline_requests"):
        assert not (settings.data_dir / folder).exists()

    # Another process, another data dir, same database and bucket: every asset and the source are readable.
    other = open_runtime(make_test_settings(tmp_path / "other", settings.db_url,
                                            **s3.settings_overrides(bucket)))
    try:
        for asset in assets:
            data = other.assets.read(asset.storage_key)
            assert hashlib.sha256(data).hexdigest() == asset.sha256 and len(data) == asset.size_bytes
            assert other.assets.open_local(asset.storage_key).is_relative_to(tmp_path / "other" / "cache")
        with other.sessions() as s:
            source = s.get(SourceFile, result.source_file_id)
            assert source is not None
            assert source_path(other.settings, source).read_bytes() == script

        # The API serves an asset out of the bucket (through the cache of its own data dir).
        with TestClient(create_app(other)) as client:
            resp = client.get(f"/assets/{assets[0].id}")
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
        assert hashlib.sha256(resp.content).hexdigest() == assets[0].sha256

        # The project archive carries the source and every take, read from the bucket.
        with other.sessions() as s:
            [archive] = run_export(s, "archive", settings=other.settings, file_id=result.source_file_id,
                                   out=tmp_path / "course.zip")
        names = set(zipfile.ZipFile(archive).namelist())
        assert {a.storage_key for a in assets} <= names and f"source/{Path(stored_name).name}" in names
    finally:
        other.engine.dispose()


def _frames(runtime: Runtime, file_id: int) -> list[int]:
    with runtime.sessions() as s:
        ids = frames_in_scope(s, file_id=file_id)
    assert len(ids) == 4
    return ids
