"""Bad uploads: each gets a typed `IngestError` with a message a producer can act on, never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.errors import IngestError
from core.ingest import segment_docx
from tests.core.docx_factory import declare_size, docx_parts, make_docx, make_zip, ole_file

MB = 1024 * 1024
LIMITS = {"max_upload_bytes": 50 * MB, "max_uncompressed_bytes": 200 * MB}
ROOT = Path(__file__).resolve().parents[2]


def rejected(data: bytes, **limits: int) -> IngestError:
    with pytest.raises(IngestError) as info:
        segment_docx(data, **{**LIMITS, **limits})
    return info.value


def good_docx() -> bytes:
    return make_docx([("heading", "الفيديو الأول"), ("para", "نص الفيديو.")])


def test_empty_file() -> None:
    err = rejected(b"")
    assert err.category == "empty"
    assert "0 bytes" in str(err)


def test_plain_text_is_not_a_docx() -> None:
    err = rejected("الفيديو الأول\nنص".encode())
    assert err.category == "not_docx"
    assert ".docx" in str(err)


def test_pdf_and_rtf_are_named() -> None:
    assert "PDF" in str(rejected(b"%PDF-1.7\n..."))
    assert "RTF" in str(rejected(b"{\\rtf1\\ansi hello}"))


def test_legacy_word_97_file_asks_for_a_resave() -> None:
    err = rejected(ole_file(encrypted=False))
    assert err.category == "not_docx"
    assert "97-2003" in str(err) and "Save As" in str(err)


def test_encrypted_docx_asks_to_remove_the_password() -> None:
    err = rejected(ole_file(encrypted=True))
    assert err.category == "encrypted"
    assert "password" in str(err)


def test_truncated_zip_is_corrupt() -> None:
    data = good_docx()
    err = rejected(data[: len(data) // 2])
    assert err.category == "corrupt"
    assert "damaged" in str(err)


def test_zip_with_a_garbled_document_part_is_corrupt() -> None:
    parts = docx_parts(good_docx())
    parts["word/document.xml"] = b"<w:document><w:body><w:p>"
    err = rejected(make_zip(parts))
    assert err.category == "corrupt"
    assert "word/document.xml" in str(err)


def test_zip_without_any_office_parts_is_not_a_docx() -> None:
    err = rejected(make_zip({"notes.txt": b"hello"}))
    assert err.category == "not_docx"
    assert "word/document.xml" in str(err)


def test_docx_package_missing_its_document_part_names_the_part() -> None:
    parts = docx_parts(good_docx())
    del parts["word/document.xml"]
    err = rejected(make_zip(parts))
    assert err.category == "corrupt"
    assert "word/document.xml" in str(err) and "missing" in str(err)


def test_opendocument_text_is_named() -> None:
    err = rejected(make_zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}))
    assert err.category == "not_docx"
    assert "OpenDocument" in str(err)


def test_upload_over_the_limit_is_too_large() -> None:
    data = good_docx()
    err = rejected(data, max_upload_bytes=len(data) - 1)
    assert err.category == "too_large"
    assert "limit" in str(err)


def _bomb_docx(payload_bytes: int) -> bytes:
    """A real .docx whose body carries `payload_bytes` of highly compressible text."""
    parts = docx_parts(good_docx())
    filler = "<w:p><w:r><w:t>" + "a" * payload_bytes + "</w:t></w:r></w:p>"
    xml = parts["word/document.xml"].decode("utf-8").replace("<w:body>", "<w:body>" + filler, 1)
    parts["word/document.xml"] = xml.encode("utf-8")
    return make_zip(parts)


def test_zip_bomb_refused_by_declared_size() -> None:
    data = _bomb_docx(3 * MB)
    assert len(data) < 100_000  # small upload, large inflation
    err = rejected(data, max_uncompressed_bytes=1 * MB)
    assert err.category == "too_large"
    assert "word/document.xml" in str(err)


def test_zip_bomb_lying_about_its_size_is_stopped_while_inflating() -> None:
    data = declare_size(_bomb_docx(3 * MB), "word/document.xml", 2000)
    err = rejected(data, max_uncompressed_bytes=10 * MB)
    assert err.category == "too_large"
    assert "declares" in str(err)


def test_document_with_no_text() -> None:
    err = rejected(make_docx([("para", ""), ("para", "   "), ("para", "\u200f\u200b"), ("table", [["", ""]])]))
    assert err.category == "no_text"


def test_cli_prints_segmentation_json(tmp_path: Path) -> None:
    path = tmp_path / "script.docx"
    path.write_bytes(
        make_docx([("para", "مقدمة الدورة"), ("heading", "الفيديو الأول: البداية"), ("para", "نص الفيديو الأول.")])
    )
    proc = _run_cli("segment", str(path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["preface"] == "مقدمة الدورة"
    assert out["videos"] == [{"number": 1, "title": "البداية", "body": "نص الفيديو الأول.", "directions": [], "scenes": []}]
    assert out["warnings"] == []
    assert "مقدمة الدورة" in proc.stdout  # ensure_ascii=False: Arabic printed as is


def test_cli_rejects_a_bad_file_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "old.docx"
    path.write_bytes(ole_file(encrypted=False))
    proc = _run_cli("segment", str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: not_docx: ")


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_excel_workbook_is_named() -> None:
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
    )
    data = make_zip({"[Content_Types].xml": types.encode(), "_rels/.rels": rels.encode(), "xl/workbook.xml": b"<w/>"})
    err = rejected(data)
    assert err.category == "not_docx"
    assert "Excel" in str(err)


def test_damaged_files_only_ever_raise_ingest_errors(real_docx: Path) -> None:
    """Random byte flips, truncations and XML damage: a typed error or a result, never another exception."""
    import random

    rng = random.Random(20261124)
    originals = [good_docx()] + [p.read_bytes() for p in sorted(real_docx.glob("*.docx")) if p.stat().st_size < 60_000]
    outcomes: set[str] = set()
    for _ in range(250):
        data = bytearray(rng.choice(originals))
        roll = rng.random()
        if roll < 0.4:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif roll < 0.7:
            data = data[: rng.randrange(len(data))]
        else:
            if not zipfile.is_zipfile(io.BytesIO(data)):
                continue  # the truncated / encrypted samples cannot be unpacked to damage their XML
            parts = docx_parts(bytes(data))
            name = next((n for n in parts if n.endswith("document.xml")), None)
            if name is None:
                continue
            xml = bytearray(parts[name])
            for _ in range(rng.randint(1, 10)):
                xml[rng.randrange(len(xml))] = rng.choice(b'<>/&"\x00\xff ab')
            parts[name] = bytes(xml)
            data = bytearray(make_zip(parts))
        try:
            segment_docx(bytes(data), **LIMITS)
            outcomes.add("ok")
        except IngestError as err:
            assert err.category in {"not_docx", "corrupt", "encrypted", "empty", "too_large", "no_text"}
            assert str(err)
            outcomes.add(err.category)
    assert {"ok", "corrupt", "not_docx"} <= outcomes


# What Python's zipfile, zlib and lxml say; none of it means anything to a producer.
LIBRARY_WORDS = ("File is not a zip file", "Bad magic number", "Error -3", "zlib", "Premature end", "column",
                 "Bad CRC", "Errno", "invalid", "Truncated", "Opening and ending tag")


def test_a_damaged_file_says_what_is_wrong_and_what_to_do_once_in_words(real_docx: Path) -> None:
    import random

    rng = random.Random(15)
    data = good_docx()
    samples = [data[:n] for n in (30, len(data) // 3, len(data) // 2, len(data) - 10)]
    parts = docx_parts(data)
    parts["word/document.xml"] = b"<w:document><w:body><w:p>"
    samples.append(make_zip(parts))
    for _ in range(60):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        samples.append(bytes(flipped))
    seen = 0
    for sample in samples:
        try:
            segment_docx(sample, **LIMITS)
        except IngestError as err:
            if err.category != "corrupt":
                continue
            seen += 1
            message = str(err)
            assert message.startswith("The .docx file is damaged ("), message
            assert message.count("save it again") == 1 and message.count("upload") == 1, message
            assert not any(w.lower() in message.lower() for w in LIBRARY_WORDS), message
    assert seen >= 5
