"""`python -m core ingest|show|rebuild` as a user runs them: subprocesses against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import make_engine
from core.models import SourceFile
from tests.core.docx_factory import make_docx

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], *, db_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))}
    env.update(DATABASE_URL=db_url, STUDIO_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=data_dir.parent, env=env,
                          capture_output=True, text=True, timeout=120)


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "دورة.docx"
    path.write_bytes(make_docx([
        ("para", "مقدمة الدورة."),
        ("heading", "الفيديو الأول: البداية"),
        ("para", "الجملة الأولى. الجملة الثانية؟ الجملة الثالثة! الجملة الرابعة؛"),
        ("bold", "الفيديو الثاني"),
        ("para", "نص قصير."),
    ]))
    return path


def test_ingest_twice_then_show_and_rebuild(tmp_path: Path, db_url: str, script: Path) -> None:
    data_dir = tmp_path / "data"
    first = _json(_run(["ingest", str(script), "--shots", "2", "--frames", "2"], db_url=db_url, data_dir=data_dir))
    assert first["created"] is True
    assert [(v["number"], v["title"], v["shots"], v["frames"]) for v in first["videos"]] == [
        (1, "البداية", 2, 4), (2, "الفيديو الثاني", 1, 1),  # one sentence: one shot of one frame, no repeats
    ]
    assert "one sentence" in first["videos"][1]["note"] and first["videos"][0]["note"] == ""
    again = _json(_run(["ingest", str(script)], db_url=db_url, data_dir=data_dir))
    assert again["file_id"] == first["file_id"] and again["created"] is False
    assert [v["id"] for v in again["videos"]] == [v["id"] for v in first["videos"]]

    shown = _json(_run(["show", "--file", str(first["file_id"])], db_url=db_url, data_dir=data_dir))
    video = shown["videos"][0]
    assert video["id"] == first["videos"][0]["id"]
    frames = [f["scene_text"] for shot in video["shots"] for f in shot["frames"]]
    assert frames == ["الجملة الأولى.", "الجملة الثانية؟", "الجملة الثالثة!", "الجملة الرابعة؛"]
    assert shown["file"]["original_name"] == "دورة.docx"

    assert len(list((data_dir / "sources").iterdir())) == 1
    if db_url.startswith("postgresql"):
        return  # rebuild's store logic runs on both backends in test_library; one subprocess run is enough here
    rebuilt = _json(_run(["rebuild", "--video", str(video["id"]), "--shots", "1", "--frames", "5"],
                         db_url=db_url, data_dir=data_dir))
    assert (rebuilt["version"], rebuilt["shots"], rebuilt["frames"]) == (2, 1, 4)  # four sentences, four frames
    paced = _json(_run(["rebuild", "--video", str(video["id"]), "--pace", "1", "--frames", "2"],
                       db_url=db_url, data_dir=data_dir))
    # 8 words at 130 a minute is about 4 s: four frames of one second (one per sentence), two a shot.
    assert (paced["version"], paced["density"], paced["pace_s"], paced["shots"], paced["frames"]) == (
        3, "paced", 1.0, 2, 4)
    assert "Paced" in paced["note"]


def test_ingest_with_a_pace_builds_paced_boards(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    sentence = "هذه جملة من عشر كلمات نقولها ببطء شديد أمام الكاميرا."
    path = tmp_path / "long.docx"
    path.write_bytes(make_docx([("heading", "الفيديو الأول: طويل"), ("para", " ".join([sentence] * 60)),
                                ("heading", "الفيديو الثاني: قصير"), ("para", " ".join([sentence] * 6))]))
    out = _json(_run(["ingest", str(path), "--pace", "9"], db_url=db_url, data_dir=data_dir))
    # 600 and 60 words at 130 a minute: 277 s and 28 s of narration, one frame per 9 s.
    assert [v["frames"] for v in out["videos"]] == [31, 3]
    assert [v["shots"] for v in out["videos"]] == [11, 1]
    other = tmp_path / "other.docx"
    other.write_bytes(make_docx([("heading", "Video 1"), ("para", "Hello.")]))
    proc = _run(["ingest", str(other), "--density", "paced"], db_url=db_url, data_dir=data_dir)
    assert proc.returncode == 2 and "--pace" in proc.stderr


def test_rejected_and_missing_files_print_one_error_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    legacy = tmp_path / "old.docx"
    legacy.write_bytes(b"plain text pretending to be Word")
    proc = _run(["ingest", str(legacy)], db_url=db_url, data_dir=data_dir)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: not_docx: ") and proc.stderr.count("\n") == 1

    proc = _run(["ingest", str(tmp_path / "nowhere.docx")], db_url=db_url, data_dir=data_dir)
    assert (proc.returncode, proc.stderr.split(":")[:2]) == (2, ["error", " not_found"])

    engine = make_engine(db_url)
    with engine.connect() as conn:  # the rejected file stored nothing
        assert conn.scalar(select(func.count(SourceFile.id))) == 0
    engine.dispose()
    assert not (data_dir / "sources").exists()
