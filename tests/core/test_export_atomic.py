"""An export killed mid-write never leaves a corrupt file under the name a producer would send.

Each writer (PDF, Word, XLSX, CSV, captions, timeline, archive) is made to die half-way through its second export;
the file from the first export must still be whole under the final name, and the half-file must be one the studio
never lists or archives. A real SIGKILL of a process writing a PDF shows the same from outside.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.exports import files
from core.exports.files import is_partial, writing
from core.exports.runner import run_export
from core.runtime import Runtime
from tests.core.review_factory import make_script

ROOT = Path(__file__).resolve().parents[2]


class Killed(BaseException):
    """Stands in for the process dying: not an Exception, so nothing on the way catches it."""


def _dies_half_way(real: Callable[..., Any], target_arg: int = 1) -> Callable[..., Any]:
    def write(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        path = Path(str(args[target_arg]))
        data = path.read_bytes()
        with open(path, "wb") as fh:  # what was on disk when the process died
            fh.write(data[: len(data) // 2])
        raise Killed

    return write


def _patch_writer(monkeypatch: pytest.MonkeyPatch, kind: str, fmt: str) -> None:
    import fpdf
    import opentimelineio as otio
    from docx.document import Document
    from openpyxl import Workbook

    if kind == "pdf":
        monkeypatch.setattr(fpdf.FPDF, "output", _dies_half_way(fpdf.FPDF.output))
    elif kind == "docx":
        monkeypatch.setattr(Document, "save", _dies_half_way(Document.save))
    elif fmt == "xlsx":
        monkeypatch.setattr(Workbook, "save", _dies_half_way(Workbook.save))
    elif kind == "timeline":
        monkeypatch.setattr(otio.adapters, "write_to_file", _dies_half_way(otio.adapters.write_to_file))
    else:  # csv and captions go through the helper's own byte writer
        monkeypatch.setattr(Path, "write_bytes", _dies_half_way(Path.write_bytes, target_arg=0))


@pytest.mark.parametrize(("kind", "fmt"), [("pdf", ""), ("docx", ""), ("shotlist", "xlsx"), ("shotlist", "csv"),
                                           ("captions", "srt"), ("captions", "vtt"), ("timeline", "otio")])
def test_an_export_killed_mid_write_leaves_the_last_good_file(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                              kind: str, fmt: str) -> None:
    from core.exports.runner import ExportOptions

    rt = sqlite_runtime
    with rt.sessions() as session:
        ids = make_script(session, rt.data_dir, shots=2, frames=2, clip_shots=1)
        session.commit()
    options = ExportOptions(formats=(fmt,) if fmt else ())
    with rt.sessions() as session:
        [good] = run_export(session, kind, settings=rt.settings, file_id=ids.file_id, options=options)
    before = good.read_bytes()
    bundle = good.with_name(f"{good.stem}_media")  # a timeline's media travel with it, under the final name
    bundled = sorted(p.name for p in bundle.rglob("*")) if bundle.exists() else []
    with monkeypatch.context() as m:
        _patch_writer(m, kind, fmt)
        with rt.sessions() as session, pytest.raises(Killed):
            run_export(session, kind, settings=rt.settings, file_id=ids.file_id, options=options)
    assert good.read_bytes() == before  # whole, and still the last good export
    left = [p for p in good.parent.rglob("*") if p.is_file() and p != good and bundle not in p.parents]
    assert all(is_partial(p) for p in left), left
    assert (sorted(p.name for p in bundle.rglob("*")) if bundle.exists() else []) == bundled  # the good bundle stays


def test_a_sigkill_while_writing_a_pdf_leaves_no_file_under_its_name(tmp_path: Path) -> None:
    out = tmp_path / "exports" / "storyboard.pdf"
    child = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        import fpdf
        from core.exports.data import FrameRow, ScriptSnapshot, ShotRow, VideoRow
        from core.exports.pdf import render_storyboard_pdf

        real = fpdf.FPDF.output
        def output(self, name):
            real(self, name)
            data = Path(name).read_bytes()
            Path(name).write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)  # dies with half a PDF on disk
        fpdf.FPDF.output = output
        frame = FrameRow(1, 1, "معلم يشرح الدرس", "A teacher", "draft", None)
        shot = ShotRow(1, 1, "", "نص", "draft", (frame,), None, None)
        video = VideoRow(1, 1, 1, "الفيديو", "", "", (shot,))
        render_storyboard_pdf(ScriptSnapshot(1, "Course", "c.docx", "", (video,)), Path({str(out)!r}))
    """)
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert not out.exists()  # nothing a producer could mistake for the storyboard
    [half] = list(out.parent.iterdir())
    assert is_partial(half) and half.suffix == ".pdf"


def test_a_stale_half_file_is_swept_by_the_next_export_and_a_fresh_one_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "captions" / "v01.srt"
    out.parent.mkdir()
    stale, fresh = out.parent / "v01.part-dead.srt", out.parent / "v01.part-beef.srt"
    stale.write_text("half")
    fresh.write_text("another export, still writing")
    os.utime(stale, (1_000_000, 1_000_000))
    files.write_text(out, "1\n00:00:00,000 --> 00:00:01,000\nمرحبا\n")
    assert out.read_text(encoding="utf-8").endswith("مرحبا\n")
    assert not stale.exists() and fresh.exists()


def test_writing_nothing_is_an_error_not_an_empty_deliverable(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), writing(tmp_path / "x.pdf"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_timeline_export_sweeps_media_folders_left_by_a_killed_one(sqlite_runtime: Runtime) -> None:
    """A SIGKILL between staging a timeline's media and swapping them in leaves `<name>_media.part-*`: the next
    export of that timeline removes it once it is an hour old (a younger one may be an export still running)."""
    from core.exports.runner import ExportOptions

    rt = sqlite_runtime
    with rt.sessions() as session:
        ids = make_script(session, rt.data_dir, shots=2, frames=2, clip_shots=1)
        session.commit()
    options = ExportOptions(formats=("otio",))
    with rt.sessions() as session:
        [good] = run_export(session, "timeline", settings=rt.settings, file_id=ids.file_id, options=options)
    stale = good.with_name(f"{good.stem}_media{files.PART}-dead")
    fresh = good.with_name(f"{good.stem}_media{files.PART}-beef")
    for folder in (stale, fresh):
        (folder / "clips").mkdir(parents=True)
        (folder / "clips" / "half.mp4").write_bytes(b"half a clip")
    os.utime(stale, (1_000_000, 1_000_000))
    with rt.sessions() as session:
        run_export(session, "timeline", settings=rt.settings, file_id=ids.file_id, options=options)
    assert not stale.exists() and fresh.exists()
    assert good.with_name(f"{good.stem}_media").is_dir()
