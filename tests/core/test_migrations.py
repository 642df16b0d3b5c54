"""Migrations keep data: a database at an old head (0001) with a row in every table is upgraded to head and
nothing is lost; the app works on it; downgrading 0003 and 0002 keeps the rest; and the models match the migrated schema
(the `alembic check` of CI: a model change without a migration fails here). SQLite and PostgreSQL."""

from __future__ import annotations

import json

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, select, text, update

from core import cost
from core.db import alembic_config, make_engine, make_session_factory, migrate, session_scope
from core.library import list_scripts, storyboard_json
from core.models import Base, Frame, Shot
from tests.conftest import PG_ADMIN_URL, _pg_available

PREVIOUS_HEAD = "0001"
TABLES_AFTER_0001 = {"cast_members", "cast_images", "shot_cast"}  # 0005: new tables, no old rows to keep
T0 = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)
ARABIC = "الدرس الأول: مقدمة في الذكاء الاصطناعي"


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (the shared test database is already at head)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    if not _pg_available():
        pytest.skip("PostgreSQL not reachable")
    name = f"cvs_migr_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows_at_0001() -> list[tuple[str, dict[str, Any]]]:
    """One realistic row per table of the 0001 schema (every column given: the old tables have no defaults)."""
    t = T0
    return [
        ("source_files", dict(id=1, sha256="a" * 64, original_name="دورة.docx", stored_name="sources/a.docx",
                              size_bytes=12345, title=ARABIC, preface="تمهيد", warnings=["video 3 is empty"],
                              archived_at=None, budget_usd=25.5, created_at=t)),
        ("style_bibles", dict(id=1, source_file_id=1, visual_style="flat vector", palette="teal, sand",
                              characters="a presenter in a blue jacket", setting="classroom", aspect_ratio="16:9",
                              negative_prompt="text, watermark", updated_at=t)),
        ("videos", dict(id=1, source_file_id=1, position=1, number=1, title=ARABIC, header_text="الفيديو الأول",
                        body="جملة أولى. جملة ثانية.")),
        ("storyboards", dict(id=1, video_id=1, version=1, is_current=True, shots_requested=4, frames_requested=3,
                             builder_version="1", created_at=t)),
        ("shots", dict(id=1, storyboard_id=1, position=1, summary="Opening", narration="جملة أولى.",
                       review_status="approved", deleted_at=None, selected_clip_id=None, lock_version=3)),
        ("frames", dict(id=1, shot_id=1, position=1, scene_text="A classroom at dawn", review_status="locked",
                        deleted_at=None, selected_prompt_id=None, selected_image_id=None, lock_version=2)),
        ("prompt_versions", dict(id=1, frame_id=1, number=1, text="wide shot of a classroom at dawn",
                                 negative_prompt="blurry", shot_size="wide", camera="35mm", lighting="soft",
                                 style_notes="flat", origin="refined", provider="offline", model="offline-v1",
                                 template_version="3", input_hash="b" * 64, inputs={"scene": "A classroom"},
                                 author="ana", based_on_id=None, created_at=t)),
        ("jobs", dict(id=1, kind="image", frame_id=1, shot_id=None, prompt_version_id=1, prompt_text="wide shot",
                      input_asset_ids=[], depends_on=[], provider="higgs", model="higgsfield-ai/soul/standard",
                      params={"aspect_ratio": "16:9"}, input_hash="c" * 64, status="succeeded",
                      remote_request_id="req-1", status_url="https://api.example/requests/req-1",
                      idempotency_key="d" * 32, attempts=1, polls=4, error=None, error_category=None,
                      lease_owner=None, lease_expires_at=None, not_before=None, submitted_at=t,
                      started_at=t + timedelta(seconds=1), finished_at=t + timedelta(seconds=9), cost_usd=0.094,
                      cost_credits=1.5, forced=False, requested_by="ana", created_at=t)),
        ("jobs", dict(id=2, kind="clip", frame_id=None, shot_id=1, prompt_version_id=None, prompt_text="slow push",
                      input_asset_ids=[1], depends_on=[1], provider="higgs",
                      model="kling-video/v2.1/pro/image-to-video", params={"duration": 5}, input_hash="e" * 64, status="succeeded", remote_request_id="req-2",
                      status_url=None, idempotency_key="f" * 32, attempts=2, polls=7, error="retried once",
                      error_category="timeout", lease_owner="worker-a", lease_expires_at=t, not_before=t,
                      submitted_at=t, started_at=t, finished_at=t, cost_usd=None, cost_credits=None, forced=True,
                      requested_by="ed", created_at=t)),
        ("assets", dict(id=1, kind="image", frame_id=1, shot_id=None, job_id=1, prompt_version_id=1,
                        sha256="1" * 64, storage_key="assets/11/" + "1" * 64 + ".png", content_type="image/png",
                        size_bytes=2048, width=1280, height=720, duration_s=None, provider="higgs",
                        model="higgsfield-ai/soul/standard", input_hash="c" * 64,
                        remote_url="https://cdn.example/1.png", discarded_at=None, created_at=t)),
        ("assets", dict(id=2, kind="clip", frame_id=None, shot_id=1, job_id=2, prompt_version_id=None,
                        sha256="2" * 64, storage_key="assets/22/" + "2" * 64 + ".mp4", content_type="video/mp4",
                        size_bytes=40960, width=1280, height=720, duration_s=5.0, provider="higgs",
                        model="kling-video/v2.1/pro/image-to-video", input_hash="e" * 64, remote_url=None,
                        discarded_at=None, created_at=t)),
        ("assets", dict(id=3, kind="image", frame_id=1, shot_id=None, job_id=None, prompt_version_id=1,
                        sha256="3" * 64, storage_key="assets/33/" + "3" * 64 + ".png", content_type="image/png",
                        size_bytes=1024, width=1280, height=720, duration_s=None, provider="offline", model="",
                        input_hash="", remote_url=None, discarded_at=t, created_at=t)),  # a discarded take
        ("comments", dict(id=1, subject_type="frame", subject_id=1, author="ed", body="أحسنت — approved",
                          created_at=t)),
        ("activity", dict(id=1, at=t, actor="ana", action="render.requested", source_file_id=1,
                          subject_type="frame", subject_id=1, detail={"job_id": 1, "forced": False})),
    ]


POINTERS = [("frames", {"selected_prompt_id": 1, "selected_image_id": 1}), ("shots", {"selected_clip_id": 2})]


def _fill_0001(engine: Engine) -> None:
    """Insert with the tables as they exist at 0001 (reflected, not today's models), then set the cross pointers."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table, row in _rows_at_0001():
            conn.execute(meta.tables[table].insert().values(**row))
        for table, values in POINTERS:
            conn.execute(update(meta.tables[table]).where(meta.tables[table].c.id == 1).values(**values))
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them, as a real db would be
            for table in {name for name, _ in _rows_at_0001()}:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))


def _normal(value: Any) -> Any:
    # SQLite keeps no zone: compare instants in UTC without tzinfo on both backends.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


# Columns added after 0001, with what an upgraded row holds in them.
_FALSE = {False}  # 0 from SQLite equals False, so the set matches both backends


class _StampedByMigration:
    """0011: an approved or locked row is stamped with what it shows (so it stays approved, and a later change
    is seen)."""

    def __init__(self, parts: set[str]) -> None:
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        value = json.loads(other) if isinstance(other, str) else other
        return (isinstance(value, dict) and value.get("by") == "migration 0011"
                and set(value.get("parts") or {}) == self.parts)

    __hash__ = None  # type: ignore[assignment]


ADDED_COLUMNS: dict[str, dict[str, Any]] = {
    "shots": {"narration_start": None, "narration_end": None,  # 0003
              # 0006: an old shot has no plan, no directions and no chain break
              "directions": [], "scene": None, "shot_size": "", "camera_move": "", "subject": "", "action": "",
              "location": "", "on_screen_text": "", "motion_prompt": "", "chain_break": _FALSE,
              "shows_nobody": _FALSE,  # 0009
              "approval": _StampedByMigration({"frames", "clip"}),  # 0011: the fixture's shot is approved
              "selected_voice_id": None},  # 0012: no narration audio yet
    "source_files": {"ingest_overrides": {}, "chain_shots": _FALSE},
    "videos": {"directions": [], "scenes": []},
    "storyboards": {"density": "fixed", "pace_s": None, "planner": "offline", "planner_model": "",
                    "template_version": "", "plan_input_hash": "", "note": ""},
    "frames": {"beat": "", "approval": _StampedByMigration({"scene_text", "beat", "prompt", "image"})},  # 0011
    "jobs": {"source_file_id": None},  # 0010: an old job is found through its frame or shot
    # 0012: the course's voice is the studio default, at normal speed, with an empty lexicon
    "style_bibles": {"voice_provider": "", "voice_name": "", "voice_speed": 1.0, "voice_lexicon": {}},
}


def _snapshot(engine: Engine, tables: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The rows of `tables`, in the columns 0001 had; a column added later must hold what ADDED_COLUMNS says."""
    meta = MetaData()
    meta.reflect(engine, only=sorted(tables))
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name in sorted(tables):
            rows = []
            for row in conn.execute(select(meta.tables[name]).order_by(meta.tables[name].c.id)):
                values = {k: _normal(v) for k, v in row._mapping.items()}
                for column, expected in ADDED_COLUMNS.get(name, {}).items():
                    if column in values:
                        got = values.pop(column)
                        if isinstance(got, str) and isinstance(expected, (list, dict)):
                            got = json.loads(got)  # a JSON server default read back raw
                        assert (got in expected if isinstance(expected, set) else got == expected), (name, column)
                rows.append(values)
            out[name] = rows
    return out


def _expected() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for table, row in _rows_at_0001():
        out.setdefault(table, []).append({k: _normal(v) for k, v in row.items()})
    for table, values in POINTERS:
        out[table][0].update(values)
    return out


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_every_table_has_a_row_in_the_fixture() -> None:
    old_tables = {name for name, _ in _rows_at_0001()}
    assert old_tables == {t.name for t in Base.metadata.sorted_tables} - {"rate_overrides", *TABLES_AFTER_0001}


def test_upgrade_from_previous_head_keeps_every_row_and_the_app_works(fresh_engine: Engine) -> None:
    migrate(fresh_engine, PREVIOUS_HEAD)
    assert _revision(fresh_engine) == PREVIOUS_HEAD
    assert "rate_overrides" not in inspect(fresh_engine).get_table_names()
    _fill_0001(fresh_engine)
    expected = _expected()
    assert _snapshot(fresh_engine, set(expected)) == expected  # the fixture itself round-trips at 0001

    migrate(fresh_engine)  # to head
    assert _revision(fresh_engine) != PREVIOUS_HEAD
    assert _snapshot(fresh_engine, set(expected)) == expected

    sessions = make_session_factory(fresh_engine)
    with session_scope(sessions) as session:
        board = storyboard_json(session, 1)
        assert board["file"]["title"] == ARABIC and board["file"]["warnings"] == ["video 3 is empty"]
        shot = board["videos"][0]["shots"][0]
        assert shot["selected_clip_id"] == 2 and shot["status"] == "approved" and shot["lock_version"] == 3
        assert shot["narration"] == "جملة أولى."  # a shot from before 0003 keeps its own text
        frame = shot["frames"][0]
        assert (frame["selected_prompt_id"], frame["selected_image_id"], frame["status"]) == (1, 1, "locked")
        (summary,) = list_scripts(session)
        assert (summary.video_count, summary.frames_with_prompt, summary.frames_with_image,
                summary.shots_with_clip) == (1, 1, 1, 1)
        # Spend still reads the old jobs: one image the API priced, one 5 s clip priced from the card.
        card = cost.load_rate_card(session)
        spent = cost.spend(session, file_id=1, rate_card=card)
        assert spent.jobs == 2 and spent.usd == pytest.approx(0.094 + 5 * 0.0875)
        # The new table works: a rate override is written and read back.
        cost.set_rate(session, "kling-video/v2.1/pro/image-to-video", unit="clip_second", credits=2, usd=0.2,
                      actor="ed")
    with sessions() as session:
        assert cost.spend(session, file_id=1, rate_card=cost.load_rate_card(session)).usd == \
            pytest.approx(0.094 + 5 * 0.2)
        # The ORM follows the migrated cross pointers.
        assert session.get(Frame, 1).selected_image_id == 1 and session.get(Shot, 1).selected_clip_id == 2
        # Stamped with what they showed, the locked frame and the approved shot still read so.
        from core import approvals

        assert approvals.frame_status(session, session.get(Frame, 1)) == "locked"
        assert approvals.shot_status(session, session.get(Shot, 1)) == "approved"


def test_downgrade_to_previous_head_keeps_the_other_data(fresh_engine: Engine) -> None:
    migrate(fresh_engine, PREVIOUS_HEAD)
    _fill_0001(fresh_engine)
    migrate(fresh_engine)
    with session_scope(make_session_factory(fresh_engine)) as session:
        cost.set_rate(session, "offline", unit="image", credits=1, usd=0.01)
    cfg = alembic_config(fresh_engine.url.render_as_string(hide_password=False))
    with fresh_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, PREVIOUS_HEAD)
    assert _revision(fresh_engine) == PREVIOUS_HEAD
    assert "rate_overrides" not in inspect(fresh_engine).get_table_names()
    expected = _expected()
    after = _snapshot(fresh_engine, set(expected))
    assert [a["action"] for a in after["activity"]] == ["render.requested", "rate.set"]  # the log is kept too
    after["activity"] = after["activity"][:1]
    assert after == expected
    migrate(fresh_engine)  # and up again, empty overrides: the defaults apply
    with make_session_factory(fresh_engine)() as session:
        assert cost.load_rate_card(session).require("offline").source == "default"


def test_downgrading_0003_writes_each_span_of_narration_back_as_text(fresh_engine: Engine, tmp_path: Path) -> None:
    from core.library import ingest_file
    from tests.conftest import make_test_settings
    from tests.core.docx_factory import make_docx

    migrate(fresh_engine)
    data = make_docx([("heading", "الفيديو الأول"), ("para", "جملة أولى هنا. جملة ثانية هنا؟"),
                      ("para", "جملة ثالثة هنا! جملة رابعة هنا.")])
    settings = make_test_settings(tmp_path / "data", fresh_engine.url.render_as_string(hide_password=False))
    with session_scope(make_session_factory(fresh_engine)) as session:
        ingest_file(session, data, "a.docx", settings=settings, shots=2, frames=1)
    with make_session_factory(fresh_engine)() as session:
        spoken = [shot.narration for shot in session.scalars(select(Shot).order_by(Shot.id))]
    assert spoken == ["جملة أولى هنا. جملة ثانية هنا؟", "جملة ثالثة هنا! جملة رابعة هنا."]
    cfg = alembic_config(fresh_engine.url.render_as_string(hide_password=False))
    with fresh_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert "narration_start" not in {c["name"] for c in inspect(fresh_engine).get_columns("shots")}
    with fresh_engine.connect() as conn:
        assert list(conn.scalars(text("SELECT narration FROM shots ORDER BY id"))) == spoken


def test_models_match_the_migrated_schema(fresh_engine: Engine) -> None:
    """What `alembic check` does in CI: autogenerate against head must find nothing to do."""
    migrate(fresh_engine)
    with fresh_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration for: {diff}"


def test_postgres_gets_the_cross_pointer_keys_and_drops_dangling_pointers(fresh_engine: Engine) -> None:
    if fresh_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has had these keys since 0001")
    from sqlalchemy.exc import IntegrityError

    migrate(fresh_engine, PREVIOUS_HEAD)
    _fill_0001(fresh_engine)
    with fresh_engine.begin() as conn:  # possible at 0001 on PostgreSQL: nothing checked the pointer
        conn.execute(text("UPDATE shots SET selected_clip_id = 999 WHERE id = 1"))
    migrate(fresh_engine)
    expected = _expected()
    expected["shots"][0]["selected_clip_id"] = None
    assert _snapshot(fresh_engine, set(expected)) == expected
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text("UPDATE frames SET selected_image_id = 999 WHERE id = 1"))


def test_downgrading_0005_drops_the_cast_and_keeps_the_rest(fresh_engine: Engine) -> None:
    migrate(fresh_engine)
    assert TABLES_AFTER_0001 <= set(inspect(fresh_engine).get_table_names())
    cfg = alembic_config(fresh_engine.url.render_as_string(hide_password=False))
    with fresh_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    names = set(inspect(fresh_engine).get_table_names())
    assert not TABLES_AFTER_0001 & names and {"shots", "frames", "rate_overrides"} <= names
    migrate(fresh_engine)
    assert TABLES_AFTER_0001 <= set(inspect(fresh_engine).get_table_names())


def test_downgrading_0006_drops_the_plan_columns_and_keeps_the_rest(fresh_engine: Engine) -> None:
    migrate(fresh_engine, PREVIOUS_HEAD)
    _fill_0001(fresh_engine)
    migrate(fresh_engine)
    cfg = alembic_config(fresh_engine.url.render_as_string(hide_password=False))
    with fresh_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    columns = {c["name"] for c in inspect(fresh_engine).get_columns("shots")}
    assert "narration_start" in columns and not {"camera_move", "directions", "chain_break"} & columns
    expected = _expected()
    assert _snapshot(fresh_engine, set(expected)) == expected
    migrate(fresh_engine)
    assert "camera_move" in {c["name"] for c in inspect(fresh_engine).get_columns("shots")}
