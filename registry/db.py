"""Engine, sessions and migrations. Works with any SQLAlchemy URL; SQLite gets WAL and a busy timeout."""
from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vocab.errors import Unavailable

_MIGRATIONS = Path(__file__).with_name("migrations")
# revision ids of earlier releases → the same revisions' ids since they are numbered in their order
RENAMED_REVISIONS = {"0004_staff": "0003_staff", "0005_merge": "0004_merge", "0008_sync": "0005_sync",
                     "0010_ingest": "0007_ingest", "0009_signing": "0008_certification", "0007_web": "0009_web"}


def _private_file(url: str) -> None:
    """A SQLite registry holds personal data: its file is created readable by its owner only (0600;
    SQLite gives its -wal and -shm files the same mode)."""
    import os

    from sqlalchemy.engine import make_url

    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    except OSError:  # a read-only place, a missing folder: SQLite says so when it opens it
        pass


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {"timeout": 60, "check_same_thread": False})
        _private_file(url)
        engine = create_engine(url, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _rec):  # durable journal, concurrent readers
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see below)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # take the write lock up front: no deadlocking lock upgrades
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kw.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kw)
    if url.startswith("postgresql"):
        event.listen(engine, "connect", _one_core_per_query)
    return engine


def _one_core_per_query(dbapi_conn, _rec) -> None:
    """PostgreSQL: no parallel workers for our queries. On an office server a staff page's count
    over the documents took every core for as long as it ran (3 processes for 56 ms instead of 1
    for 52 ms), and the reuse lookups waited behind it (bench/load.py)."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    cur = dbapi_conn.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.close()
    dbapi_conn.autocommit = autocommit


class Database:
    """One engine and its session factory; pass it around, no globals."""

    def __init__(self, url: str, **engine_kw) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kw)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def alembic_config(self):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest revision (``alembic upgrade head``; the history is linear).

        A registry made by a release before the revisions were renumbered in their order holds an
        old revision id: it is renamed to the same revision's new id first (the schema is the same)."""
        from alembic import command

        if self.is_initialised():
            with self.engine.begin() as conn:
                for old, new in RENAMED_REVISIONS.items():
                    conn.execute(text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
                                 {"new": new, "old": old})
        command.upgrade(self.alembic_config(), "head")

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def is_initialised(self) -> bool:
        try:
            return inspect(self.engine).has_table("alembic_version")
        except OperationalError as exc:
            raise Unavailable(f"không kết nối được cơ sở dữ liệu {self.safe_url}",
                              detail=str(exc.orig)) from exc

    def dispose(self) -> None:
        self.engine.dispose()


# -- reads whose only write is their audit row (the API's hot path) -----------------------------

_read_engines: "weakref.WeakKeyDictionary[Any, Engine]" = weakref.WeakKeyDictionary()
_read_engines_lock = threading.Lock()


def read_engine(db) -> Engine:
    """A second, small engine on the same database for reads whose only write is their audit row.

    Autocommit (no BEGIN/COMMIT round trips, and on SQLite no write lock taken for a read), no
    pre-ping (a stale connection is retried once, see ``read_audit_session``), and commits that do
    not wait for the disk flush: SQLite ``synchronous=NORMAL`` (WAL: survives a process kill; an OS
    crash or power cut may drop the last audit rows), PostgreSQL ``synchronous_commit=off`` (same
    trade-off, never corruption). The flush is what dominates tail latency (fsync p99 ~5 ms on a
    shared disk). ``audit_read_durability = "full"`` in sohoa.toml turns this off.
    """
    with _read_engines_lock:
        eng = _read_engines.get(db)
        if eng is not None:
            return eng
        url = make_url(db.url)
        if url.get_backend_name() == "sqlite":
            eng = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False,
                                connect_args={"timeout": 60, "check_same_thread": False})

            @event.listens_for(eng, "connect")
            def _pragmas(dbapi_conn, _rec):
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "mmap_size=268435456"):
                    dbapi_conn.execute(f"PRAGMA {pragma}")
        else:
            kw: dict[str, Any] = {}
            if url.get_backend_name() == "postgresql":
                opts = str(url.query.get("options", "") or "")
                url = url.difference_update_query(["options"])
                kw["connect_args"] = {"options": f"{opts} -c synchronous_commit=off".strip()}
            eng = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=5, **kw)
            if url.get_backend_name() == "postgresql":
                event.listen(eng, "connect", _one_core_per_query)
        _read_engines[db] = eng
        return eng


@contextlib.contextmanager
def read_audit_session(db, relaxed: bool = True) -> Iterator[Session]:
    """A unit of work for a *read* whose only write is its audit row (see ``read_engine``).

    With ``relaxed=False`` it is an ordinary ``db.session()`` (one transaction, flushed commit).
    """
    if not relaxed:
        with db.session() as s:
            yield s
        return
    with read_engine(db).connect() as conn, Session(bind=conn, expire_on_commit=False) as s:
        yield s
        s.commit()


def dispose_read_engine(db) -> None:
    with _read_engines_lock:
        eng = _read_engines.pop(db, None)
    if eng is not None:
        eng.dispose()
