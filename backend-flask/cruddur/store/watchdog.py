"""Cuts loose the PostgreSQL connections of a server that froze mid-session.

statement_timeout is the server's own: a server that stops after the connection was made (its
processes stopped, its VM paused, the network cut) enforces nothing, and the request would wait
for gunicorn's 30 s. Against stopped processes the kernel still acknowledges every packet, so
neither TCP keepalives nor tcp_user_timeout fire, a cancel request waits on the frozen
postmaster too (all three measured), and libpq, psycopg and SQLAlchemy have no public bound on
a wait for a result. So each wait on the server gets a deadline, and a thread shuts down the
socket of a connection past it: psycopg's wait ends at once with "server closed the connection
unexpectedly", a disconnect to SQLAlchemy, which discards the connection (and the pool's older
ones) instead of pooling it again.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from contextlib import contextmanager

import psycopg
from sqlalchemy import Connection, Engine, event

from cruddur.store import FROZEN_SERVER_S

logger = logging.getLogger(__name__)

TICK_S = 0.25  # how often the deadlines are looked at: a cut comes at most this late


class Watchdog:
    def __init__(self, bound_s: float):
        self.bound_s = bound_s
        self._deadlines: dict[psycopg.Connection, float] = {}
        # Each connection's socket, duplicated by the thread using it when first watched: the cut
        # never reaches another file that reused the descriptor of a connection closed meanwhile.
        self._sockets: weakref.WeakKeyDictionary[psycopg.Connection, socket.socket] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, engine: Engine) -> None:
        """Commits and rollbacks, too, wait on the server; the pool's check-in (or close) ends the watch."""
        for ending in ("commit", "rollback"):
            event.listen(engine, ending, self._ending)
        for ended in ("checkin", "close"):
            event.listen(engine, ended, lambda dbapi_connection, _record: self.disarm(dbapi_connection))

    def _ending(self, connection: Connection) -> None:
        if not (connection.closed or connection.invalidated):
            self.arm(connection.connection.dbapi_connection)

    def arm(self, connection: psycopg.Connection) -> None:
        if connection not in self._sockets:
            duplicate = socket.socket(fileno=os.dup(connection.fileno()))
            weakref.finalize(connection, duplicate.close)
            self._sockets[connection] = duplicate
            self._start()  # a new connection: the process's first, or the first in a forked worker
        self._deadlines[connection] = time.monotonic() + self.bound_s

    def disarm(self, connection: psycopg.Connection | None) -> None:
        self._deadlines.pop(connection, None)

    @contextmanager
    def waiting(self, connection: psycopg.Connection):
        self.arm(connection)
        try:
            yield
        finally:
            self.disarm(connection)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():  # none yet, or the forked parent's
                self._thread = threading.Thread(target=self._cut_the_frozen, name="store-watchdog", daemon=True)
                self._thread.start()

    def _cut_the_frozen(self) -> None:
        while True:
            time.sleep(TICK_S)
            now = time.monotonic()
            for connection, deadline in list(self._deadlines.items()):
                if deadline < now and self._deadlines.pop(connection, None) is not None:
                    logger.warning("store: no answer from the database in %s s: the connection is cut", self.bound_s)
                    try:
                        self._sockets[connection].shutdown(socket.SHUT_RDWR)
                    except (KeyError, OSError):  # closed meanwhile
                        pass


# One per process: psycopg makes each cursor from a class, which cannot be handed an app's.
WATCHDOG = Watchdog(FROZEN_SERVER_S)


class WatchedCursor(psycopg.Cursor):
    """psycopg's cursor, each statement watched: the pool's ping is one too."""

    __slots__ = ()

    def execute(self, *args, **kwargs):
        with WATCHDOG.waiting(self.connection):
            return super().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        with WATCHDOG.waiting(self.connection):
            return super().executemany(*args, **kwargs)
