"""A database that is down, refusing or hung: 503 `database_unavailable` within seconds, one
ERROR line with the trace id, and service back by itself when the database is."""
from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time

import pytest
import requests
from sqlalchemy import text

from cruddur.store import CONNECT_TIMEOUT_S, FROZEN_SERVER_S, STATEMENT_TIMEOUT_MS
from tests.conftest import FRONTEND, need_postgres
from tests.peers.postgres import PostgresServer
from tests.processes import Gunicorn
from tests.test_store import engine

UNAVAILABLE = (503, ["database_unavailable"])
# The documented bound (README, Storage): the timeouts plus the request's own work.
BOUND_S = CONNECT_TIMEOUT_S + 1.5
# A server frozen mid-session: its connection is cut, then the reconnect waits the connect timeout.
FROZEN_BOUND_S = FROZEN_SERVER_S + CONNECT_TIMEOUT_S + 1.5


@pytest.fixture
def postgres():
    """A server of the test's own, to stop and start."""
    need_postgres()
    with PostgresServer() as server:
        yield server


class Hanging:
    """A loopback port that accepts connections and never says a word, as a hung server does."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:  # closed
                return

    def __enter__(self) -> Hanging:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        self.thread.join(5)
        for connection in self.held:
            connection.close()


def timed(client, method: str = "GET", path: str = "/api/activities/home", **kwargs):
    started = time.monotonic()
    response = client.open(path, method=method, **kwargs)
    return response, time.monotonic() - started


def answered(client, method: str, path: str, within: float, **kwargs):
    """timed() in a thread: a request that hangs fails the test instead of holding it."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(timed(client, method, path, **kwargs)), daemon=True)
    thread.start()
    thread.join(within)
    assert answers, f"{method} {path}: no answer within {within} s"
    return answers[0]


def error_lines(json_lines) -> list[dict]:
    return [line for line in json_lines() if line["level"] == "ERROR"]


def test_a_refusing_port_answers_503_at_once_and_logs_the_trace_id(make_app, json_lines):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed below: nothing listens there
    app = make_app({"DATABASE_URL": f"postgresql://cruddur@127.0.0.1:{port}/cruddur"})
    response, took = timed(app.test_client())
    assert (response.status_code, response.get_json()) == UNAVAILABLE and took < 1.0
    (line,) = error_lines(json_lines)
    assert line["logger"] == "cruddur.errors" and line["message"].startswith("database unavailable: ")
    assert "Connection refused" in line["message"] and line["exception"].startswith("Traceback")
    assert line["trace_id"] == response.headers["X-Trace-Id"]


def test_a_hanging_server_answers_503_within_the_connect_timeout(make_app):
    with Hanging() as hung:
        app = make_app({"DATABASE_URL": f"postgresql://cruddur@127.0.0.1:{hung.port}/cruddur"})
        client = app.test_client()
        answers = []
        # Threads behind the one waiting on the connection give up within the bound too.
        threads = [threading.Thread(target=lambda: answers.append(timed(client))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(BOUND_S + 5)
    assert len(answers) == 3
    for response, took in answers:
        assert (response.status_code, response.get_json()) == UNAVAILABLE
        assert took < BOUND_S, took


def test_a_stopped_server_answers_503_fast_and_service_comes_back_by_itself(make_app, postgres):
    client = make_app({"DATABASE_URL": postgres.fresh_database()}).test_client()
    assert client.get("/api/activities/home").status_code == 200
    postgres.stop()
    for _ in range(3):
        response, took = timed(client)
        assert (response.status_code, response.get_json()) == UNAVAILABLE and took < 1.0
        assert timed(client, "POST", "/api/activities", json={"message": "lost?", "ttl": "1-day"})[0].status_code == 503
    postgres.start()
    assert client.post("/api/activities", json={"message": "back", "ttl": "1-day"}).status_code == 200
    assert client.get("/api/activities/home").get_json()[0]["message"] == "back"


def test_a_server_frozen_mid_session_answers_503_within_the_bound_and_comes_back_when_thawed(make_app, postgres):
    client = make_app({"DATABASE_URL": postgres.fresh_database()}).test_client()
    assert client.get("/api/activities/home").status_code == 200  # its connection waits in the pool
    postgres.freeze()
    try:
        for method, path, body in (("GET", "/api/activities/home", None),
                                   ("POST", "/api/activities", {"message": "frozen?", "ttl": "1-day"})):
            response, took = answered(client, method, path, within=FROZEN_BOUND_S + 5, json=body)
            assert (response.status_code, response.get_json()) == UNAVAILABLE
            assert took < FROZEN_BOUND_S, took
    finally:
        postgres.thaw()
    # No cut connection went back to the pool: the next request is served at once.
    response, took = timed(client, "POST", "/api/activities", json={"message": "thawed", "ttl": "1-day"})
    assert response.status_code == 200 and took < 1.0, took
    assert client.get("/api/activities/home").get_json()[0]["message"] == "thawed"


def test_a_statement_past_the_timeout_answers_503(make_app, postgres):
    url = postgres.fresh_database()
    client = make_app({"DATABASE_URL": url}).test_client()
    assert client.get("/api/activities/home").status_code == 200
    with engine(url) as db, db.connect() as blocker:
        blocker.execute(text("LOCK TABLE activities IN ACCESS EXCLUSIVE MODE"))
        response, took = timed(client)
        blocker.rollback()
    assert (response.status_code, response.get_json()) == UNAVAILABLE
    assert STATEMENT_TIMEOUT_MS / 1000 <= took < STATEMENT_TIMEOUT_MS / 1000 + 1.5
    assert client.get("/api/activities/home").status_code == 200


def test_a_locked_sqlite_file_answers_503_after_the_busy_timeout(make_app, tmp_path):
    path = tmp_path / "locked.db"
    client = make_app({"DATABASE_URL": f"sqlite:///{path}"}).test_client()
    assert client.get("/api/activities/home").status_code == 200
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock
        response, took = timed(client, "POST", "/api/activities", json={"message": "wait", "ttl": "1-day"})
        # WAL: readers go on while the writer holds its lock.
        assert client.get("/api/activities/home").status_code == 200
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert (response.status_code, response.get_json()) == UNAVAILABLE
    assert 2.5 <= took < BOUND_S
    assert client.post("/api/activities", json={"message": "now", "ttl": "1-day"}).status_code == 200


@pytest.mark.live
def test_gunicorn_starts_with_the_database_down_serves_503_and_migrates_when_it_returns(postgres):
    url = postgres.fresh_database()
    postgres.stop()
    with Gunicorn({"FRONTEND_URL": FRONTEND, "DATABASE_URL": url}, workers=2) as server:
        for _ in range(4):
            response = requests.get(f"{server.url}/api/activities/home", timeout=10)
            assert (response.status_code, response.json()) == UNAVAILABLE
        failed = '"message": "database unavailable: (psycopg.OperationalError) connection failed'
        started = "store: postgresql+psycopg://cruddur@127.0.0.1"
        # The log lines are written by a background thread, and the second worker may still be booting.
        deadline = time.monotonic() + 10
        while (server.read_output().count(failed) < 4 or server.read_output().count(started) < 2) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        log = server.read_output()
        assert log.count(started) == 2  # one line a worker
        assert log.count(failed) == 4
        postgres.start()
        feed = requests.get(f"{server.url}/api/activities/home", timeout=10)
        assert feed.status_code == 200 and len(feed.json()) == 3
        with engine(url) as db, db.connect() as connection:
            sessions = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalar_one()
        assert sessions >= 1
    # SIGTERM: each worker closed its pool on the way out.
    with engine(url) as db, db.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar_one() == 0
    # Tracebacks only inside JSON lines' "exception": none from gunicorn or Python themselves.
    assert not [line for line in server.output.splitlines() if "Traceback" in line and not line.startswith("{")]
