"""The commands in docs/deploy.md work as written: the single-machine backup is run from the doc's own text."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def _backup_command() -> str:
    """The fenced bash block of the "Single machine" backup section, exactly as a reader copies it."""
    section = DOC.read_text(encoding="utf-8").split("### Single machine", 1)[1].split("\n### ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert match, "the single-machine backup section has no bash block"
    return match.group(1)


def _data_dir(root: Path, folders: tuple[str, ...]) -> None:
    data = root / "data"
    data.mkdir()
    with sqlite3.connect(data / "studio.db") as db:
        db.execute("create table t (x text)")
        db.execute("insert into t values ('kept')")
    for name in folders:
        (data / name / "ab").mkdir(parents=True)
        (data / name / "ab" / "file.bin").write_bytes(name.encode())


@pytest.mark.parametrize("folders", [("sources", "assets"), ("sources", "assets", "offline_requests"), ()])
def test_the_documented_backup_runs_with_or_without_each_folder(tmp_path: Path, folders: tuple[str, ...]) -> None:
    _data_dir(tmp_path, folders)
    # A studio that never rendered offline has no offline_requests/: the old command stopped there with rsync's 23.
    missing = [tool for tool in ("sqlite3", "rsync") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the documented command needs {', '.join(missing)}, not installed here")
    done = subprocess.run(["bash", "-c", "set -e\n" + _backup_command()], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "backup" / "studio.db") as db:
        assert db.execute("select x from t").fetchall() == [("kept",)]
    for name in ("sources", "assets", "offline_requests"):
        copied = tmp_path / "backup" / name / "ab" / "file.bin"
        assert copied.exists() == (name in folders)


def test_the_documented_backup_still_fails_when_a_copy_fails(tmp_path: Path) -> None:
    # Skipping a missing folder must not hide a real failure: an rsync that fails (here a stand-in that fails as a
    # full disk would) fails the backup with its own code.
    if shutil.which("sqlite3") is None:
        pytest.skip("the documented command needs sqlite3, not installed here")
    _data_dir(tmp_path, ("sources", "assets"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "rsync").write_text("#!/bin/sh\necho 'rsync: write failed: No space left on device' >&2\nexit 11\n")
    (bin_dir / "rsync").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    done = subprocess.run(["bash", "-c", _backup_command()], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 11, done.stderr
