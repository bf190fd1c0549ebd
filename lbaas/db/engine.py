"""Engine and session factory.

SQLite is the zero-configuration default. Its write transactions start with ``BEGIN IMMEDIATE`` so
that check-then-write sequences (state guards, quota checks, address allocation) are serialised
instead of failing on lock upgrade; reads start deferred and run concurrently under WAL. Writers
of one process also queue on an in-process lock first: SQLite's own busy handler polls with
sleeps of up to 100 ms, so a writer that finds the database locked would otherwise wait far
longer than the few milliseconds the holder needs.
PostgreSQL and MySQL get row locks (``SELECT … FOR UPDATE``) from the repositories instead,
both at READ COMMITTED.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event, make_url
from sqlalchemy import exc as exc_mod
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "lbaas_write"

_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = (
    weakref.WeakKeyDictionary())


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """Create an engine for ``url`` with the settings each backend needs."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=pool_size, max_overflow=20)
        _configure_sqlite(engine)
        _SQLITE_WRITE_LOCKS[engine] = threading.RLock()
        return engine
    options: dict[str, Any] = {}
    if make_url(url).get_backend_name() in ("mysql", "mariadb"):
        # PostgreSQL's default level, which the guards are written for: each statement sees
        # what was committed before it ran. Under MySQL's REPEATABLE READ a count made after
        # taking a row lock (quotas) would still see the snapshot of the transaction's first
        # read, without the rows of the transaction it waited for.
        options["isolation_level"] = "READ COMMITTED"
    engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_recycle=3600,
                           **options)
    _ping_idle_connections(engine)
    return engine


IDLE_PING_S = 1.0
"""A pooled connection unused for longer than this is pinged before it is handed out."""


def _ping_idle_connections(engine: Engine) -> None:
    """Like ``pool_pre_ping``, but only for connections idle a while.

    A database restart or a dropped idle connection is caught before a request uses it, without
    a round trip on every checkout of a busy pool (a quarter of a small request's time). A
    connection that dies while in use makes its request fail with a 503, and the pool drops
    every connection of that generation.
    """

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["lbaas_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("lbaas_idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping may have opened a transaction
        except Exception as exc:
            raise exc_mod.DisconnectionError(str(exc)) from exc
        if not alive:
            raise exc_mod.DisconnectionError("ping failed")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built post-commit)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction takes the write lock at BEGIN (SQLite) and commits on success."""
    bind = factory.kw.get("bind")
    lock = _SQLITE_WRITE_LOCKS.get(bind) if isinstance(bind, Engine) else None
    with lock or contextlib.nullcontext(), factory() as session:
        session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _autocommit_is_free(dialect: Dialect) -> bool:
    """Whether a connection of ``dialect`` switches to autocommit and back without a round trip
    to the server (psycopg's is a client-side flag). PyMySQL sends SET AUTOCOMMIT each way, and
    the isolation level again on the way back: more than the COMMIT or ROLLBACK it saves. And
    on a connection the server has dropped, that SET fails outside SQLAlchemy's error handling:
    a raw PyMySQL error, a 500 instead of the 503 of a lost connection."""
    return dialect.name == "postgresql"


@contextmanager
def single_statement(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A connection for one write statement that is atomic by itself: in autocommit on
    PostgreSQL (no BEGIN and COMMIT round trips), under the writer lock on SQLite."""
    bind = factory.kw.get("bind")
    assert isinstance(bind, Engine)
    lock = _SQLITE_WRITE_LOCKS.get(bind)
    with lock or contextlib.nullcontext(), bind.connect() as conn:
        if lock is not None:
            conn = conn.execution_options(**{WRITE_OPTION: True})
        elif _autocommit_is_free(bind.dialect):
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
        conn.commit()


@contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A short read-only session (in autocommit on PostgreSQL: no BEGIN and ROLLBACK)."""
    with factory() as session:
        if _autocommit_is_free(session.get_bind().dialect):
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
