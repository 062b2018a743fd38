"""Cruddur's store: SQLite in the instance folder by default, PostgreSQL (or another SQLite
file) by DATABASE_URL, through SQLAlchemy Core with one pooled engine per process.

The engine is made on first use, so in gunicorn's workers after the fork, and disposed at
worker exit. The first use also applies the migrations and seeds an empty database; while
the database is unreachable that fails with a 503 and is tried again by the next request.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from opentelemetry.instrumentation.utils import suppress_instrumentation
import sqlalchemy
from sqlalchemy import Connection, Engine, event, exc, func, select
from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:  # config reads the seed's handles (data.py), which import the store's schema
    from cruddur.config import Settings

logger = logging.getLogger(__name__)

EXTENSION = "cruddur.store"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# The bounds that turn a down, refusing or hung database into a 503 within seconds.
CONNECT_TIMEOUT_S = 3  # PostgreSQL: TCP connect plus start-up (libpq's minimum is 2)
STATEMENT_TIMEOUT_MS = 3000  # PostgreSQL: the server cancels a statement running longer
# PostgreSQL: a server silent this long mid-session is frozen, and its connection is cut
# (watchdog.py); a slow statement is the timeout's above to cancel first.
FROZEN_SERVER_S = STATEMENT_TIMEOUT_MS / 1000 + 1
POOL_TIMEOUT_S = 3  # waiting for a free pooled connection
BUSY_TIMEOUT_S = 3  # SQLite: waiting for another writer's lock
# A worker's requests share them (gevent: a request waiting on PostgreSQL lets others run); the
# overflow serves bursts. A request waits at most POOL_TIMEOUT_S for one.
POOL_SIZE, MAX_OVERFLOW = 4, 4
# Any constant: the key of PostgreSQL's advisory lock that lets one process migrate at a time.
MIGRATION_LOCK = 14_2026
# Raised for a database that is down, refusing, hung or locked: the API answers 503.
UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


class StoreBusy(exc.TimeoutError):
    """Another thread of this worker is still migrating, past the wait's bound."""


def database_url(settings: Settings, instance_path: str) -> URL:
    url = make_url(settings.database_url or f"sqlite:///{Path(instance_path) / 'cruddur.db'}")
    # The bootcamp's postgresql:// (and Heroku-style postgres://) mean psycopg 3 here.
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def sqlite_connection(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while a writer writes. It is the file's mode, kept once set. SQLite
    # refuses the change at once, with no busy wait, while another connection writes the file in
    # its old mode (another worker converting a new file): this connection still works, and a
    # later one makes the file WAL.
    with suppress(sqlite3.OperationalError):
        cursor.execute("PRAGMA journal_mode=WAL")
    # Foreign keys are off in SQLite unless asked.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Each pooled connection keeps its own page cache (2 MB by default), which grows with the
    # file: 256 KiB each bounds a worker's 8 connections to 2 MB, and the OS caches the file anyway.
    cursor.execute("PRAGMA cache_size=-256")
    cursor.close()


def make_engine(url: URL) -> Engine:
    # sqlalchemy.create_engine looked up at the call: OpenTelemetry's SQLAlchemy instrumentation
    # (observability/otel.py) wraps the module's, so every statement is a CLIENT span.
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sqlalchemy.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, pool_size=POOL_SIZE,
                               max_overflow=MAX_OVERFLOW, pool_timeout=POOL_TIMEOUT_S)
        event.listen(engine, "connect", sqlite_connection)
        # The file is on this host, and the engine's URL says so (pysqlite refuses a host in the URL
        # it opens): the X-Ray SDK names each SQL subsegment after that host, and X-Ray refuses a
        # subsegment without a name. OpenTelemetry's DB spans read it too, as server.address.
        engine.url = url.set(host="localhost")
        return engine
    from cruddur.store.watchdog import WATCHDOG, WatchedCursor  # here: it reads this module's bounds

    # pre_ping replaces the connections a restarted server has closed, so service comes back alone.
    engine = sqlalchemy.create_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_timeout=POOL_TIMEOUT_S,
                                      pool_pre_ping=True, connect_args={
                                          "connect_timeout": CONNECT_TIMEOUT_S,
                                          "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                                          "cursor_factory": WatchedCursor,
                                      })
    WATCHDOG.watch(engine)
    return engine


def migrate(connection: Connection) -> None:
    """Applies the migrations and seeds an empty database, in one transaction under a lock."""
    from cruddur import data
    from cruddur.store.schema import users

    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    else:
        # SQLite: take the write lock now, so a second worker waits instead of racing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    if connection.execute(select(func.count()).select_from(users)).scalar_one() == 0:
        data.seed(connection, datetime.now(timezone.utc))
        logger.info("store: seeded the week-2 reference data")


class Store:
    """The app's handle on its database: the engine, migrated on first use, and its lifecycle."""

    def __init__(self, url: URL):
        self.url = url
        # Made now, outside any request; an engine opens no connection until one is needed.
        self._engine = make_engine(url)
        self._migrated = False
        self._failed_at = 0.0
        self._lock = threading.Lock()

    @property
    def pool(self) -> sqlalchemy.Pool:
        """The engine's pool of the moment (dispose() makes a new one), for its metrics: no start."""
        return self._engine.pool

    @property
    def engine(self) -> Engine:
        if not self._migrated:
            asked = time.monotonic()
            # Bounded: a thread behind one that waits on a hung database gives up too.
            if not self._lock.acquire(timeout=CONNECT_TIMEOUT_S + 1):
                raise StoreBusy("the store is still starting")
            try:
                # The attempt this thread waited for failed just now: its answer stands,
                # rather than each waiting thread paying for a try of its own.
                if self._failed_at > asked:
                    raise StoreBusy("the store could not start: the database is unavailable")
                self._start()
            except BaseException:
                self._failed_at = time.monotonic()
                raise
            finally:
                self._lock.release()
        return self._engine

    def _start(self) -> None:
        if not self._migrated:
            # On a thread of its own, where no request's trace is current: its statements are
            # start-up work, in neither the request's OpenTelemetry trace nor its X-Ray segment.
            with ThreadPoolExecutor(1, thread_name_prefix="store-start") as pool:
                pool.submit(self._migrate).result()
            self._migrated = True

    def _migrate(self) -> None:
        # A thread's context starts empty: each statement would be a trace of its own.
        with suppress_instrumentation(), self._engine.begin() as connection:
            migrate(connection)

    def dispose(self) -> None:
        """Closes the pool's connections (at worker exit, and after each test's app)."""
        self._engine.dispose()
        self._migrated = False


def store() -> Store:
    return current_app.extensions[EXTENSION]


def checked_out() -> Connection:
    # A connection from the pool is no call to the database: the instrumentation's "connect"
    # span for it would be one more span per request, showing nothing the statements do not.
    engine = store().engine  # migrated first, with its own statements untraced
    with suppress_instrumentation():
        return engine.connect()


@contextmanager
def reading() -> Iterator[Connection]:
    with checked_out() as connection:
        yield connection


@contextmanager
def writing() -> Iterator[Connection]:
    """A transaction: committed at the end of the block, rolled back on any error."""
    with checked_out() as connection, connection.begin():
        yield connection


def init_app(app: Flask, settings: Settings) -> None:
    url = database_url(settings, app.instance_path)
    app.extensions[EXTENSION] = Store(url)
    logger.info("store: %s (connected, migrated and seeded on first use)", url.render_as_string(hide_password=True),
                extra={"database": url.get_backend_name()})
