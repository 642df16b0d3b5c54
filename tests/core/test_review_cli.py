"""`python -m core review|budget|rates`: the gates and the budget from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main
from core.runtime import Runtime
from tests.core.review_factory import make_script


@pytest.fixture
def cli(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(sqlite_runtime.data_dir))
    monkeypatch.setenv("DATABASE_URL", sqlite_runtime.settings.db_url)
    monkeypatch.setenv("AUTHOR_NAME", "Mona")
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, shots=1, frames=1, clip_shots=0)
        session.commit()
    return ids


def test_review_commands(cli, capsys) -> None:
    frame = str(cli.frame_ids[0])
    assert main(["review", "set", "--frame", frame, "--status", "in_review"]) == 0
    assert json.loads(capsys.readouterr().out)["to"] == "in_review"
    assert main(["review", "set", "--frame", frame, "--status", "needs_changes"]) == 2
    assert "error: gate:" in capsys.readouterr().err
    assert main(["review", "set", "--frame", frame, "--status", "needs_changes", "--comment", "Too dark"]) == 0
    capsys.readouterr()
    assert main(["review", "comments", "--frame", frame, "--add", "Fixed"]) == 0
    thread = json.loads(capsys.readouterr().out)
    assert [(c["author"], c["body"]) for c in thread][-2:] == [("Mona", "Too dark"), ("Mona", "Fixed")]
    assert main(["review", "progress", "--video", str(cli.video_ids[0])]) == 0
    progress = json.loads(capsys.readouterr().out)
    assert progress["frames_by_status"] == {"needs_changes": 1} and progress["frames_total"] == 1
    assert main(["review", "set", "--video", str(cli.video_ids[0]), "--status", "in_review"]) == 0
    assert [m["to"] for m in json.loads(capsys.readouterr().out)] == ["in_review"]
    assert main(["review", "set", "--video", str(cli.video_ids[0]), "--status", "locked"]) == 2
    assert "cannot go to Locked" in capsys.readouterr().err


def test_budget_and_rates_commands(cli, capsys, tmp_path: Path) -> None:
    assert main(["budget", "set", "--file", str(cli.file_id), "--usd", "0.2"]) == 0
    capsys.readouterr()
    assert main(["budget", "show", "--file", str(cli.file_id)]) == 0
    shown = json.loads(capsys.readouterr().out)
    # One image at $0.094 reported by the API: 47 % of a $0.20 budget.
    assert shown["spent_usd"] == pytest.approx(0.094) and shown["level"] == "ok"
    assert shown["fraction"] == pytest.approx(0.47)
    assert main(["rates", "set", "my/model", "--unit", "image", "--credits", "3", "--usd", "0.2"]) == 0
    capsys.readouterr()
    assert main(["rates", "show"]) == 0
    rates = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert rates["my/model"]["usd"] == 0.2 and rates["my/model"]["source"] == "edited"
    assert main(["budget", "set", "--file", str(cli.file_id), "--usd", "lots"]) == 2
