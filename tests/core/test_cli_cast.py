"""`python -m core cast …`: define the cast from the command line, assign shots, refuse bad photos by name."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from core.cli import main
from core.runtime import Runtime
from tests.core.jobs_factory import Board, make_board
from tests.fakes.higgs_server import make_png


@pytest.fixture
def board(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Board:
    monkeypatch.setenv("STUDIO_DATA_DIR", str(sqlite_runtime.data_dir))
    monkeypatch.setenv("DATABASE_URL", sqlite_runtime.settings.db_url)
    monkeypatch.setenv("RENDERER", "offline")
    with sqlite_runtime.sessions() as session:
        made = make_board(session, shots=3, frames=1)
        session.commit()
    return made


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def _photo(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_add_list_assign_and_remove(board: Board, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = str(board.file_id)
    layla = _photo(tmp_path, "layla.png", make_png("layla", (300, 300)))
    code, out, _ = _run(capsys, "cast", "add", "--file", f, "--name", "Layla", "--kind", "presenter",
                        "--description", "Navy blazer, short hair", "--image", layla)
    assert code == 0 and out["kind"] == "presenter" and [i["origin"] for i in out["images"]] == ["upload"]
    code, out, _ = _run(capsys, "cast", "add", "--file", f, "--name", "Studio", "--kind", "set",
                        "--image", _photo(tmp_path, "studio.jpg", _jpeg()))
    assert code == 0
    code, out, _ = _run(capsys, "cast", "list", "--file", f)
    assert [(m["name"], m["shots"]) for m in out["members"]] == [("Layla", 3), ("Studio", 0)]

    code, out, _ = _run(capsys, "cast", "assign", "--shot", str(board.shot_ids[2]), "--name", "Layla",
                        "--name", "Studio")
    assert out == {"shot": board.shot_ids[2], "shows": ["Layla", "Studio"], "because": "chosen"}
    code, out, _ = _run(capsys, "cast", "list", "--file", f)
    assert [(m["name"], m["shots"]) for m in out["members"]] == [("Layla", 3), ("Studio", 1)]
    code, out, _ = _run(capsys, "cast", "assign", "--shot", str(board.shot_ids[2]), "--clear")
    assert out["because"] == "presenter" and out["shows"] == ["Layla"]
    code, out, _ = _run(capsys, "cast", "assign", "--shot", str(board.shot_ids[1]), "--nobody")
    assert out == {"shot": board.shot_ids[1], "shows": [], "because": "nobody"}
    _, listed, _ = _run(capsys, "cast", "list", "--file", f)
    assert listed["members"][0]["shots"] == 2

    code, _, err = _run(capsys, "cast", "assign", "--shot", str(board.shot_ids[0]), "--name", "Omar")
    assert code == 2 and "No cast member or set called 'Omar'" in err and "Layla, Studio" in err
    code, out, _ = _run(capsys, "cast", "remove", "--file", f, "--name", "Studio")
    assert code == 0
    code, out, _ = _run(capsys, "cast", "list", "--file", f)
    assert [m["name"] for m in out["members"]] == ["Layla"]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (0, 0, 255)).save(out, format="GIF")
    return out.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("missing.png", None, "No file at"),
    ("broken.png", make_png("x", (300, 300))[:400], "broken.png is damaged or incomplete"),
    ("anim.gif", _gif(), "anim.gif is a GIF image: use a PNG, JPEG or WebP photo"),
    ("notes.png", b"%PDF-1.4 not a photo at all" * 10, "notes.png cannot be read as a picture (it looks like a PDF"),
    ("big.png", make_png("big", (300, 300)), "big.png is 0.0 MB, over the 0 MB limit"),
], ids=["missing", "corrupt", "wrong-type", "pdf-named-png", "huge"])
def test_a_bad_photo_is_refused_by_name_and_nothing_is_stored(
        board: Board, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        name: str, data: bytes | None, message: str) -> None:
    if name == "big.png":
        monkeypatch.setenv("MAX_UPLOAD_MB", "0.0001")  # ~100 bytes
    path = str(tmp_path / name) if data is None else _photo(tmp_path, name, data)
    code, out, err = _run(capsys, "cast", "add", "--file", str(board.file_id), "--name", "Layla", "--image", path)
    assert code == 2 and out is None and message in err and "Traceback" not in err
    _, listed, _ = _run(capsys, "cast", "list", "--file", str(board.file_id))
    assert listed["members"] == []


def test_candidates_render_offline_then_one_is_picked(board: Board, capsys: pytest.CaptureFixture[str]) -> None:
    f = str(board.file_id)
    _run(capsys, "cast", "add", "--file", f, "--name", "Layla", "--kind", "presenter",
         "--description", "A woman in her thirties, navy blazer")
    code, out, _ = _run(capsys, "cast", "candidates", "--file", f, "--name", "Layla", "--count", "2")
    assert code == 0 and len(out["jobs"]) == 2
    assert main(["worker", "--drain"]) == 0
    capsys.readouterr()
    _, listed, _ = _run(capsys, "cast", "list", "--file", f)
    images = listed["members"][0]["images"]
    assert [(i["origin"], i["reference"]) for i in images] == [("candidate", False), ("candidate", False)]
    code, out, _ = _run(capsys, "cast", "pick", "--image", str(images[1]["id"]))
    assert code == 0 and out["locked"] is True
    code, _, err = _run(capsys, "cast", "pick", "--image", str(images[0]["id"]))
    assert code == 2 and "locked for the course" in err
