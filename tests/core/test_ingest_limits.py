"""A small upload cannot take a gigabyte (issue 13, item 8): the default cap refuses a .docx that inflates to far
more XML than a script has, and says what a script has; text and storyboard size are capped; the document part is
parsed as it inflates (memory stays flat); and only a bounded number of documents are read at once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.db import session_scope
from core.errors import IngestError
from core.ingest import segment_docx
from core.ingest import limits
from core.ingest.docx_reader import read_package
from core.ingest.package import open_package
from core.library import ingest_file
from core.models import SourceFile
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.core.docx_factory import make_docx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.xml_bomb import build  # noqa: E402 - the benchmark's generator: one definition of "the bomb"


def _defaults(tmp_path: Path) -> Settings:
    return make_test_settings(tmp_path / "data")


def test_the_default_cap_refuses_190_mb_of_xml_at_once_and_says_what_a_script_has(tmp_path: Path) -> None:
    data = build(190)
    assert len(data) < 1024 * 1024  # a small upload
    settings = _defaults(tmp_path)
    started = time.perf_counter()
    with pytest.raises(IngestError) as info:
        segment_docx(data, max_upload_bytes=settings.max_upload_bytes,
                     max_uncompressed_bytes=settings.max_uncompressed_bytes)
    assert time.perf_counter() - started < 5
    assert info.value.category == "too_large"
    assert "25 MB of XML" in str(info.value) and "about 1 MB" in str(info.value)


def test_real_scripts_fit_far_under_the_default_cap(tmp_path: Path, real_docx: Path) -> None:
    cap = _defaults(tmp_path).max_uncompressed_bytes
    for path in sorted(real_docx.glob("*.docx")):
        try:
            read_package(open_package(path.read_bytes(), max_uncompressed_bytes=cap))
        except IngestError as err:
            assert err.category != "too_large", (path.name, str(err))


def test_too_much_text_is_refused_as_soon_as_it_is_read() -> None:
    data = make_docx([("heading", "الفيديو الأول"), *[("para", "يشرح المعلم الفكرة أمام الطلاب. " * 10)] * 50])
    package = open_package(data, max_uncompressed_bytes=50 * 1024 * 1024)
    assert read_package(package).blocks  # under the default cap
    with pytest.raises(IngestError, match="more than 5,000 characters") as info:
        read_package(package, max_chars=5_000)
    assert info.value.category == "too_large"


def test_a_storyboard_past_the_frame_cap_stores_nothing(sqlite_runtime: Runtime,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_STORYBOARD_FRAMES", 20)
    data = make_docx([("heading", "الفيديو الأول: مقدمة"),
                      ("para", " ".join(f"يشرح المعلم الفكرة رقم {i} أمام الطلاب." for i in range(60)))])
    with session_scope(sqlite_runtime.sessions) as s:
        with pytest.raises(IngestError, match="at most 20 per script"):
            ingest_file(s, data, "big.docx", settings=sqlite_runtime.settings, shots=10, frames=5)
    with sqlite_runtime.sessions() as s:
        assert s.query(SourceFile).count() == 0


_PEAK = r"""
import resource, sys
sys.path.insert(0, sys.argv[1])
from core.ingest.docx_reader import read_package
from core.ingest.package import open_package
data = open(sys.argv[2], "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
read_package(open_package(data, max_uncompressed_bytes=64 * 1024 * 1024))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["markup_only", "unread_only"])
def test_reading_is_streamed_so_memory_stays_flat(tmp_path: Path, kind: str) -> None:
    """40 MB of XML (paragraphs without text, or body children the reader never reads, so no other cap stops it):
    held whole, as text and as a tree, that is several hundred MB; streamed, a few."""
    path = tmp_path / "markup.docx"
    path.write_bytes(build(40, **{kind: True}))
    run = subprocess.run([sys.executable, "-c", _PEAK, str(ROOT), str(path)], capture_output=True, text=True,
                         check=True, timeout=600)
    grown_mb = json.loads(run.stdout.strip())
    assert grown_mb < 40, f"reading 40 MB of XML grew the process by {grown_mb} MB"


def test_only_so_many_documents_are_read_at_once() -> None:
    data = make_docx([("heading", "الفيديو الأول"), ("para", "نص قصير.")])
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with limits.ingest_slot(1):
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(5)
    with pytest.raises(IngestError, match="reading 1 other script") as info:
        with limits.ingest_slot(1, wait_s=0.2):
            pass
    assert info.value.category == "busy"
    done: list[int] = []
    reader = threading.Thread(target=lambda: done.append(len(segment_docx(
        data, max_upload_bytes=10**7, max_uncompressed_bytes=10**7, concurrency=1).videos)))
    reader.start()
    time.sleep(0.5)
    assert not done  # waits for the slot
    release.set()
    holder.join(5)
    reader.join(10)
    assert done == [1]
