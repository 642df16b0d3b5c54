"""Uploads are judged by their bytes, stored under a generated name, and their original name is only text.

A name like `../../evil.docx` must not steer where the file lands, `<script>.docx` must not become markup
(the page side is in tests/studio/test_page_escaping.py), and a PNG renamed `.docx` is refused by content.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from core.db import session_scope
from core.errors import IngestError
from core.library import ingest_file, list_scripts
from core.models import SourceFile
from core.runtime import Runtime
from tests.core.docx_factory import make_docx

HOSTILE_NAMES = ["../../evil.docx", "..\\..\\evil.docx", "/etc/passwd.docx", "<script>.docx",
                 "<img src=x onerror=alert(1)>.docx"]


def _script(tag: str) -> bytes:
    return make_docx([("heading", f"الفيديو الأول: مقدمة {tag}"), ("para", "نص قصير عن الألوان. جملة ثانية.")])


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_is_stored_under_the_generated_name(sqlite_runtime: Runtime, tmp_path: Path,
                                                            name: str) -> None:
    before = _files_under(tmp_path)
    with session_scope(sqlite_runtime.sessions) as session:
        result = ingest_file(session, _script(name), name, settings=sqlite_runtime.settings, shots=1, frames=1)
    with sqlite_runtime.sessions() as session:
        source = session.get(SourceFile, result.source_file_id)
        assert source is not None
        stored, shown = source.stored_name, source.original_name
        listed = [s.original_name for s in list_scripts(session)]
    assert stored == f"sources/{source.sha256}.docx"  # generated from the content, never from the name
    new = _files_under(tmp_path) - before
    docx = [p for p in new if p.suffix == ".docx"]
    assert docx == [sqlite_runtime.data_dir / stored]
    assert not any("evil" in p.name or "passwd" in p.name or "script" in p.name for p in new)
    assert not (tmp_path.parent / "evil.docx").exists() and not (tmp_path / "evil.docx").exists()
    # The original name survives only as text to show (its last path component), unchanged otherwise.
    assert "/" not in shown and "\\" not in shown and shown.endswith(".docx") and listed == [shown]
    if name.startswith("<"):
        assert shown == name  # kept verbatim as text; the studio escapes it when it shows it


def test_a_png_renamed_docx_is_refused_by_its_content(sqlite_runtime: Runtime) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 0, 0)).save(buf, format="PNG")
    with session_scope(sqlite_runtime.sessions) as session, pytest.raises(IngestError) as info:
        ingest_file(session, buf.getvalue(), "course.docx", settings=sqlite_runtime.settings)
    assert info.value.category == "not_docx" and "not a Word .docx" in str(info.value)
    with sqlite_runtime.sessions() as session:
        assert list_scripts(session, include_archived=True) == []
    assert not (sqlite_runtime.data_dir / "sources").exists() or not any((sqlite_runtime.data_dir / "sources").iterdir())
