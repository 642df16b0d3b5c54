"""The project archive re-imports into a fresh database (SQLite → SQLite and SQLite → PostgreSQL) without loss."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import review
from core.assets import AssetStore
from core.cli import main as cli_main
from core.errors import ConflictError, ValidationError
from core.exports.archive import export_archive, import_archive
from core.exports.data import collect_script, export_dir
from core.exports.runner import run_export
from core.models import Activity, Comment, Frame, Job, PromptVersion, Shot, SourceFile, Storyboard
from core.runtime import Runtime, open_runtime
from tests.conftest import make_test_settings
from tests.core.review_factory import add_job, make_script

ID_FIELDS = ("frame_id", "shot_id", "video_id", "file_id", "storyboard_id")


def _snapshot_without_ids(session, file_id: int, data_dir: Path) -> list:
    """The script as an export sees it, with ids dropped and files replaced by their bytes."""
    snap = collect_script(session, file_id, data_dir=data_dir)

    def scrub(value):
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if k not in ID_FIELDS}
        if isinstance(value, (list, tuple)):
            return [scrub(v) for v in value]
        if isinstance(value, Path):
            return value.read_bytes()
        return value

    return scrub(snap)


@pytest.fixture
def archived(tmp_path: Path):
    root = tmp_path / "source-studio"  # its own folder and database, apart from the test's target runtime
    src = open_runtime(make_test_settings(root / "data", f"sqlite:///{root / 'studio.db'}"))
    with src.sessions() as session:
        ids = make_script(session, src.data_dir, videos=2, shots=2, frames=2, clip_shots=1, budget_usd=25.0)
        # History that must survive: a second prompt version based on the first, a re-rolled take, a dependent
        # job, review transitions with comments, and an older storyboard version.
        frame = session.get(Frame, ids.frame_ids[0])
        v2 = PromptVersion(frame_id=frame.id, number=2, text="Hand-edited prompt", origin="manual",
                           provider="manual", input_hash="m" * 64, based_on_id=frame.selected_prompt_id,
                           author="ed")
        session.add(v2)
        session.flush()
        frame.selected_prompt_id = v2.id
        image_job = add_job(session, "image", frame_id=frame.id, model="higgsfield-ai/soul/standard", cost=0.1)
        clip_job = add_job(session, "clip", shot_id=ids.shot_ids[0], model="kling", status="pending")
        clip_job.depends_on = [image_job.id]
        clip_job.input_asset_ids = [ids.image_asset_ids[0], ids.image_asset_ids[1]]
        review.set_status(session, "frame", ids.frame_ids[1], "in_review", actor="ed")
        review.set_status(session, "frame", ids.frame_ids[1], "needs_changes", actor="client", comment="Darker")
        review.add_comment(session, "shot", ids.shot_ids[1], "Good pacing", author="client")
        session.add(Storyboard(video_id=ids.video_ids[0], version=0, is_current=False, shots_requested=1,
                               frames_requested=1))
        session.commit()
        run_export(session, "shotlist", settings=src.settings, file_id=ids.file_id)
        summary = export_archive(session, ids.file_id, data_dir=src.data_dir, out=tmp_path / "course.zip")
        before = _snapshot_without_ids(session, ids.file_id, src.data_dir)
    src.engine.dispose()
    return ids, summary, before


def test_archive_reimports_into_a_fresh_database_without_loss(runtime: Runtime, archived) -> None:
    ids, summary, before = archived
    assert summary.rows["frames"] == 8 and summary.rows["storyboards"] == 3
    with runtime.sessions() as session:
        # Something already in the target, so every id has to move.
        make_script(session, runtime.data_dir, videos=1, shots=3, frames=3, clip_shots=0, with_images=False)
        session.commit()
        result = import_archive(session, summary.path.read_bytes(), data_dir=runtime.data_dir, actor="ed")
        session.commit()
        new_id = result.source_file_id
        assert new_id != ids.file_id
        assert result.id_maps["frames"][ids.frame_ids[0]] != ids.frame_ids[0]

        after = _snapshot_without_ids(session, new_id, runtime.data_dir)
        assert after == before  # texts, statuses, selected prompts, comments, image and clip bytes

        source = session.get(SourceFile, new_id)
        assert source.budget_usd == 25.0
        frame = session.get(Frame, result.id_maps["frames"][ids.frame_ids[0]])
        selected = session.get(PromptVersion, frame.selected_prompt_id)
        assert selected.text == "Hand-edited prompt" and selected.frame_id == frame.id
        assert session.get(PromptVersion, selected.based_on_id).number == 1
        clip_job = session.scalar(select(Job).where(Job.kind == "clip", Job.error_category == "imported"))
        assert clip_job.status == "canceled"  # it was pending there: it arrives as history, not as a render
        assert session.get(Job, clip_job.depends_on[0]).frame_id == frame.id
        assert clip_job.input_asset_ids == [result.id_maps["assets"][a] for a in ids.image_asset_ids[:2]]
        shot = session.get(Shot, result.id_maps["shots"][ids.shot_ids[0]])
        assert shot.selected_clip_id == result.id_maps["assets"][ids.clip_asset_ids[0]]
        thread = review.list_comments(session, "shot", result.id_maps["shots"][ids.shot_ids[1]])
        assert [c.body for c in thread] == ["Good pacing"]
        transitions = session.scalars(select(Activity).where(Activity.source_file_id == new_id,
                                                             Activity.action == "review.status")).all()
        assert {(a.subject_id, a.detail["new"]) for a in transitions} == {
            (result.id_maps["frames"][ids.frame_ids[1]], "in_review"),
            (result.id_maps["frames"][ids.frame_ids[1]], "needs_changes")}
        assert session.scalar(select(func.count()).select_from(Storyboard)
                              .where(Storyboard.video_id == result.id_maps["videos"][ids.video_ids[0]])) == 2
        assert session.scalar(select(func.count()).select_from(Comment)) == 4  # 2 seeded + 2 added
    exported = export_dir(runtime.data_dir, new_id)
    assert (exported / "shotlist.csv").is_file() and (exported / "shotlist.xlsx").is_file()


def test_importing_the_same_script_twice_is_a_conflict(sqlite_runtime: Runtime, archived) -> None:
    _, summary, _ = archived
    with sqlite_runtime.sessions() as session:
        import_archive(session, summary.path, data_dir=sqlite_runtime.data_dir)
        session.commit()
        with pytest.raises(ConflictError, match="already in the studio"):
            import_archive(session, summary.path, data_dir=sqlite_runtime.data_dir)


def test_damaged_archives_are_refused(tmp_path: Path, sqlite_runtime: Runtime, archived) -> None:
    _, summary, _ = archived
    with sqlite_runtime.sessions() as session:
        with pytest.raises(ValidationError, match="not a studio archive"):
            import_archive(session, b"not a zip", data_dir=tmp_path)
        # Flip a byte of one stored image: the checksum catches it before anything is written.
        buf = io.BytesIO()
        with zipfile.ZipFile(summary.path) as zin, zipfile.ZipFile(buf, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename.startswith("assets/") and item.filename.endswith(".png"):
                    data = data[:-1] + bytes([data[-1] ^ 1])
                zout.writestr(item, data)
        with pytest.raises(ValidationError, match="damaged"):
            import_archive(session, buf.getvalue(), data_dir=tmp_path / "other")
        assert not (tmp_path / "other").exists()


def test_cli_export_and_import_archive(tmp_path: Path, sqlite_runtime: Runtime, monkeypatch, capsys) -> None:
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, shots=1, frames=1, clip_shots=0)
        session.commit()
    monkeypatch.setenv("STUDIO_DATA_DIR", str(sqlite_runtime.data_dir))
    monkeypatch.setenv("DATABASE_URL", sqlite_runtime.settings.db_url)
    out = tmp_path / "a.zip"
    assert cli_main(["export", "archive", "--file", str(ids.file_id), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["rows"]["frames"] == 1

    target = tmp_path / "target"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(target))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target / 'studio.db'}")
    assert cli_main(["import-archive", str(out)]) == 0
    assert "imported as script" in capsys.readouterr().out
    assert AssetStore(target).exists(next(iter(
        n for n in zipfile.ZipFile(out).namelist() if n.startswith("assets/"))))
    assert cli_main(["import-archive", str(out)]) == 2
    assert "error: conflict:" in capsys.readouterr().err


def test_an_ingested_script_keeps_its_narration_through_an_archive(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    """Builder shots keep only a span of the video body; the archive carries both, so the text comes back."""
    from core.library import ingest_file
    from tests.core.docx_factory import make_docx

    data = make_docx([("heading", "الفيديو الأول"), ("para", "جملة أولى هنا. جملة ثانية هنا؟"),
                      ("para", "جملة ثالثة هنا! جملة رابعة هنا.")])
    source = tmp_path / "source"
    src = open_runtime(make_test_settings(source / "data", f"sqlite:///{source / 'studio.db'}"))
    with src.sessions() as session:
        file_id = ingest_file(session, data, "a.docx", settings=src.settings, shots=2, frames=1).source_file_id
        session.commit()
        before = [sh.narration for sh in session.scalars(select(Shot).order_by(Shot.id))]
        path = export_archive(session, file_id, data_dir=src.data_dir, out=tmp_path / "a.zip").path
    src.engine.dispose()
    assert before == ["جملة أولى هنا. جملة ثانية هنا؟", "جملة ثالثة هنا! جملة رابعة هنا."]
    with sqlite_runtime.sessions() as session:
        import_archive(session, path.read_bytes(), data_dir=sqlite_runtime.data_dir, actor="ed")
        session.commit()
        assert [sh.narration for sh in session.scalars(select(Shot).order_by(Shot.id))] == before
