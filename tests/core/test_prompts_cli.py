"""`python -m core prompts …` as a producer runs it: a real subprocess against the test database.

SQLite only: the commands call the same `core.prompts` functions whose PostgreSQL behaviour is tested in
test_prompts_versions / test_prompts_batch, and each subprocess costs a second of start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.db import session_scope
from core.prompts.versions import add_manual_version
from core.runtime import Runtime
from tests.core.prompt_fixtures import make_board

ROOT = Path(__file__).resolve().parents[2]


def _run(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "REFINER"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=runtime.settings.db_url,
               STUDIO_DATA_DIR=str(runtime.settings.data_dir), AUTHOR_NAME="cli-user")
    return subprocess.run([sys.executable, "-m", "core", "prompts", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_refine_show_diff(sqlite_runtime: Runtime) -> None:
    with session_scope(sqlite_runtime.sessions) as session:
        board = make_board(session)
    frame = board.frame_ids[0]

    refined = _run(sqlite_runtime, "refine", "--file", str(board.file_id), "--provider", "offline")
    assert refined.returncode == 0, refined.stderr
    summary = json.loads(refined.stdout)
    assert summary["provider"] == "offline"
    assert (summary["refined"], summary["reused"], summary["failed"]) == (len(board.frame_ids), 0, 0)
    assert summary["errors"] == {}

    with session_scope(sqlite_runtime.sessions) as session:
        add_manual_version(session, frame, "A wide shot of a quiet classroom at dawn, no text", author="omar")

    shown = _run(sqlite_runtime, "show", "--frame", str(frame))
    assert shown.returncode == 0, shown.stderr
    listing = json.loads(shown.stdout)
    assert listing["scene_text"] == "يدخل المعلم إلى الفصل ويحيي الطلاب"
    assert [(v["number"], v["origin"], v["provider"], v["selected"]) for v in listing["versions"]] == [
        (1, "refined", "offline", False), (2, "manual", "manual", True)]
    assert listing["versions"][0]["author"] == "cli-user"
    assert listing["staleness"]["state"] == "fresh"

    diff = _run(sqlite_runtime, "diff", "--frame", str(frame), "1", "2")
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.startswith("[-Establishing-] {+A+} wide shot of [-the course presenter")
    assert "{+quiet classroom at dawn,+}" in diff.stdout


def _main(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          *args: str) -> tuple[int, str, str]:
    """The same entry point in-process (cheap): the environment is read when the command runs."""
    for key in [k for k in os.environ if k.startswith("OPENAI_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", runtime.settings.db_url)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(runtime.settings.data_dir))
    code = main(["prompts", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_scopes_reuse_and_json_diff_in_process(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with session_scope(sqlite_runtime.sessions) as session:
        board = make_board(session)
    code, out, _ = _main(sqlite_runtime, monkeypatch, capsys, "refine", "--shot", str(board.shot_ids[0]),
                         "--provider", "offline")
    assert code == 0 and json.loads(out)["refined"] == 3
    code, out, _ = _main(sqlite_runtime, monkeypatch, capsys, "refine", "--video", str(board.video_id),
                         "--provider", "offline")
    assert (json.loads(out)["refined"], json.loads(out)["reused"]) == (len(board.frame_ids) - 3, 3)
    frame = board.frame_ids[0]
    with session_scope(sqlite_runtime.sessions) as session:
        add_manual_version(session, frame, "A quiet classroom", author="omar")
    code, out, _ = _main(sqlite_runtime, monkeypatch, capsys, "diff", "--frame", str(frame), "1", "2", "--json")
    ops = json.loads(out)
    assert code == 0 and ops[-1] == {"op": "insert", "text": "A quiet classroom"}
    assert {op["op"] for op in ops} == {"delete", "insert"}


def test_errors_are_one_readable_line(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = _run(sqlite_runtime, "show", "--frame", "424242")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: not_found: Frame 424242 does not exist (or was deleted)"
    code, _, err = _main(sqlite_runtime, monkeypatch, capsys, "refine", "--frame", "424242", "--provider", "openai")
    assert code == 2 and err.startswith("error: ")
    with session_scope(sqlite_runtime.sessions) as session:
        board = make_board(session)
    code, _, err = _main(sqlite_runtime, monkeypatch, capsys, "refine", "--file", str(board.file_id),
                         "--provider", "openai")
    assert code == 2 and "OPENAI_API_KEY" in err
