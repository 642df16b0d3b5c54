"""Engine and session factories, built by functions (never at import time), plus migrations."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class UTCDateTime(TypeDecorator[datetime]):
    """The one datetime column type: stored as UTC and always read back timezone-aware, on every database.

    PostgreSQL keeps the zone itself (`timestamptz`); SQLite stores text without one and hands back naive values,
    which made the worker's ORM UPDATE (evaluated in Python against loaded rows) crash comparing naive and aware
    times. Here a value is converted to UTC on the way in and
    tagged UTC on the way out, so nothing else in the code re-zones a datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        # A naive value is taken as UTC (every stored time is UTC: old archives and rows hold naive text).
        value = value.replace(tzinfo=timezone.utc) if value.utcoffset() is None else value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for `url`. SQLite gets foreign keys, WAL and a busy timeout on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def begin_write(session: Session, *, immediate: bool = False) -> None:
    """Open the real transaction before a savepoint on SQLite (pysqlite opens it only at the first write, so a
    SAVEPOINT before that would be a transaction of its own, committed on release). `immediate` takes SQLite's
    write lock at once, so what the caller reads next (a next version number) is what every writer committed
    and nobody else can write in between. PostgreSQL needs neither."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def begin_sqlite(session: Session, *, immediate: bool = False) -> bool:
    """Open SQLite's transaction now (`immediate`: with its write lock) rather than at the first write, as pysqlite
    would: reads before that write could predate another writer's commit, and a SAVEPOINT before it would be a
    transaction of its own. True on SQLite (whether or not a transaction was already open); a no-op elsewhere.

    The render queue opens with `immediate` before its in-flight and reuse checks, so they read what every other
    writer committed (a deferred transaction would read an older snapshot, then wait for the lock and insert a
    second job for a render that finished meanwhile), and a later refusal (the budget's) rolls the job back."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return False
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    return True


def lock_videos_for_write(session: Session, *video_ids: int) -> None:
    """Serialise writers of these videos' storyboards (a plan, a rebuild, a grid save) for the rest of the
    transaction: PostgreSQL locks the videos' rows, in id order (two batches never deadlock); SQLite takes its
    write lock now (BEGIN IMMEDIATE). pysqlite
    otherwise opens the transaction only at the first write, so the reads before it (the version numbers, the
    rows to change) could predate another writer's commit and the insert would collide on a version."""
    if begin_sqlite(session, immediate=True):
        return
    from sqlalchemy import bindparam, text

    if video_ids:
        session.connection().execute(text("SELECT id FROM videos WHERE id IN :ids ORDER BY id FOR UPDATE")
                     .bindparams(bindparam("ids", expanding=True)), {"ids": sorted(set(video_ids))})


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (idempotent)."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
