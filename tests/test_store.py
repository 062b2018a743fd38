"""The store, against a real SQLite file and a real PostgreSQL server: what is created stays,
feeds read it back, hostile text is kept exactly, time zones are right, nothing is lost in parallel."""
from __future__ import annotations

import json
import re
import socket
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml
from sqlalchemy import func, select, text, update

from cruddur.config import ConfigError, Settings
from cruddur.store import database_url as store_url, make_engine
from cruddur.store.schema import activities, replies, users
from tests.conftest import FRONTEND, need_postgres
from tests.processes import BACKEND_DIR, Gunicorn

TAILOR = "248959df-3079-4947-b847-9e0892d1bab4"
CLOUD_IS_FUN = "68f126b0-1ceb-4a33-88be-d90fa7109eee"
REPO = BACKEND_DIR.parent


@contextmanager
def engine(url: str):
    """The test's own look at the store, beside the app's."""
    engine = make_engine(store_url(Settings(database_url=url), ""))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def client(make_app, database_url):
    return make_app({"DATABASE_URL": database_url}).test_client()


def messages(feed: list[dict]) -> list[str]:
    return [item["message"] for item in feed]


def test_a_created_crud_heads_the_home_feed_and_its_authors_page(client):
    crud = client.post("/api/activities", json={"message": "Stored at last", "ttl": "3-hours"}).get_json()
    home = client.get("/api/activities/home").get_json()
    assert home[0] == crud
    assert messages(home)[1:] == ["My dear doctor, I am just simple tailor", "Cloud is very fun!",
                                  "I am out of prune juice"]
    assert client.get("/api/activities/@andrewbrown").get_json()[0] == crud
    assert client.get(f"/api/activities/{crud['uuid']}").get_json() == crud
    assert client.get("/api/activities/search?term=AT LAST").get_json() == [crud]


def test_a_reply_appears_under_its_crud_and_is_counted(client):
    reply = client.post(f"/api/activities/{TAILOR}/reply", json={"message": "Garak, you're a spy."}).get_json()
    shown = client.get(f"/api/activities/{TAILOR}").get_json()
    assert (shown["replies_count"], shown["replies"]) == (1, [reply])
    home = {item["uuid"]: item for item in client.get("/api/activities/home").get_json()}
    assert home[TAILOR]["replies"] == [reply] and home[CLOUD_IS_FUN]["replies_count"] == 1


def test_a_sent_message_appears_in_the_conversation_and_the_groups(client):
    assert client.get("/api/messages/@coco").get_json() == []
    sent = client.post("/api/messages", json={"user_receiver_handle": "coco", "message": "Hello unicorn"}).get_json()
    again = client.post("/api/messages", json={"user_receiver_handle": "coco", "message": "Still there?"}).get_json()
    assert client.get("/api/messages/@coco").get_json() == [sent, again]
    groups = client.get("/api/message_groups").get_json()
    assert [(g["handle"], g["message"]) for g in groups] == [
        ("coco", "Still there?"), ("worf", "This platform is great!"),
        ("garek", "Lies, my dear doctor, are the truth in disguise.")]
    reply = client.post("/api/messages", json={"user_receiver_handle": "worf", "message": "Qapla'"}).get_json()
    assert client.get("/api/messages/@worf").get_json()[-1] == reply
    assert client.get("/api/message_groups").get_json()[0]["message"] == "Qapla'"


def test_expired_cruds_leave_every_feed(client, database_url):
    crud = client.post("/api/activities", json={"message": "Soon gone", "ttl": "1-hour"}).get_json()
    with engine(database_url) as db, db.begin() as connection:
        connection.execute(update(activities).where(activities.c.message == "Soon gone")
                           .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert "Soon gone" not in messages(client.get("/api/activities/home").get_json())
    assert client.get("/api/activities/@andrewbrown").get_json()[0]["message"] == "Cloud is very fun!"
    assert client.get("/api/activities/search?term=soon").get_json() == []
    assert client.get(f"/api/activities/{crud['uuid']}").status_code == 404
    assert client.post(f"/api/activities/{crud['uuid']}/reply", json={"message": "hi"}).status_code == 404


HOSTILE = [
    "it's \"quoted\" `back`", "100% off", "snake_case_", "a\\%b\\_c\\", "'; DROP TABLE activities; --",
    "\U0001f600\U0001f9d1\u200d\U0001f680 non-BMP", "\u202e\ufeff bidi", "\x01\x1b[31m\r\n\t", "x" * 280,
]


@pytest.mark.parametrize("message", HOSTILE)
def test_hostile_text_is_stored_and_returned_exactly(client, message):
    crud = client.post("/api/activities", json={"message": message, "ttl": "1-day"}).get_json()
    assert crud["message"] == message.strip()
    assert client.get(f"/api/activities/{crud['uuid']}").get_json()["message"] == message.strip()
    reply = client.post(f"/api/activities/{crud['uuid']}/reply", json={"message": message * 3}).get_json()
    assert client.get(f"/api/activities/{crud['uuid']}").get_json()["replies"] == [reply]
    sent = client.post("/api/messages", json={"user_receiver_handle": "worf", "message": message}).get_json()
    assert client.get("/api/messages/@worf").get_json()[-1] == sent


def test_search_matches_percent_and_underscore_as_themselves(client):
    for message in ("100% sure", "1000 sure", "snake_case", "snakescase"):
        assert client.post("/api/activities", json={"message": message, "ttl": "1-day"}).status_code == 200
    assert messages(client.get("/api/activities/search", query_string={"term": "0%"}).get_json()) == ["100% sure"]
    assert messages(client.get("/api/activities/search", query_string={"term": "e_c"}).get_json()) == ["snake_case"]
    assert client.get("/api/activities/search", query_string={"term": "'"}).get_json() == []


@pytest.mark.parametrize("value", ["nul\x00", "\ud800 lone surrogate"])
def test_text_no_store_can_keep_is_a_422_on_every_store(client, value):
    checks = [
        ("/api/activities", {"message": value, "ttl": "1-day"}, ["message_invalid"]),
        (f"/api/activities/{TAILOR}/reply", {"message": value}, ["message_invalid"]),
        ("/api/messages", {"user_receiver_handle": "worf", "message": value}, ["message_invalid"]),
        ("/api/messages", {"user_receiver_handle": value, "message": "hi"}, ["user_receiver_handle_invalid"]),
    ]
    for path, body, codes in checks:
        response = client.post(path, json=body)
        assert (response.status_code, response.get_json()) == (422, codes)
    search = client.get("/api/activities/search", query_string={"term": value.replace("\ud800", "\x00")})
    assert (search.status_code, search.get_json()) == (422, ["search_term_invalid"])
    for path in ("/api/activities/@nul%00", "/api/messages/@nul%00", "/api/activities/@" + "a" * 10_000):
        response = client.get(path)
        assert (response.status_code, response.get_json()) == (404, ["user_not_found"])


def test_timestamps_come_back_in_utc_and_timezone_aware(client, database_url):
    # The test server's own time zone is Pacific/Kiritimati (UTC+14): the store still answers in UTC.
    before = datetime.now(timezone.utc)
    crud = client.post("/api/activities", json={"message": "What time is it?", "ttl": "12-hours"}).get_json()
    created = datetime.fromisoformat(crud["created_at"])
    assert created.utcoffset() == timedelta(0) and crud["created_at"].endswith("+00:00")
    assert before <= created <= datetime.now(timezone.utc)
    stored = client.get(f"/api/activities/{crud['uuid']}").get_json()
    assert (stored["created_at"], stored["expires_at"]) == (crud["created_at"], crud["expires_at"])
    with engine(database_url) as db, db.connect() as connection:
        row = connection.execute(select(activities.c.created_at).where(activities.c.message == "What time is it?")).one()
    assert row.created_at == created


@pytest.mark.migrations
def test_the_seed_is_relative_to_seeding_and_made_once(make_app, database_url):
    first = make_app({"DATABASE_URL": database_url}).test_client()
    home = first.get("/api/activities/home").get_json()
    created = datetime.fromisoformat(home[1]["created_at"])
    assert abs(datetime.now(timezone.utc) - timedelta(days=2) - created) < timedelta(minutes=1)
    first.post("/api/activities", json={"message": "Still here after a restart", "ttl": "1-day"})
    # A second app on the same store, as after a restart: the data stays, the seed is not made again.
    second = make_app({"DATABASE_URL": database_url}).test_client()
    assert messages(second.get("/api/activities/home").get_json())[:2] == [
        "Still here after a restart", "My dear doctor, I am just simple tailor"]
    with engine(database_url) as db, db.connect() as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == 4
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0001"


@pytest.mark.live
def test_the_sqlite_file_survives_a_restart_of_gunicorn(tmp_path):
    env = {"FRONTEND_URL": FRONTEND, "DATABASE_URL": f"sqlite:///{tmp_path / 'kept.db'}"}
    with Gunicorn(env, workers=1) as server:
        crud = requests.post(f"{server.url}/api/activities", json={"message": "Kept", "ttl": "1-day"}, timeout=10).json()
    with Gunicorn(env, workers=1) as server:
        assert requests.get(f"{server.url}/api/activities/home", timeout=10).json()[0] == crud


def test_a_new_sqlite_file_another_worker_is_writing_still_opens(tmp_path):
    """SQLite refuses a change of journal mode at once, with no busy wait, while another connection
    writes the file in its old mode: the second of two workers starting on a new file (the first
    converting it to WAL) answered its first request 503 on a busy machine."""
    path = tmp_path / "new.db"
    other_worker = sqlite3.connect(path, isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")
    engine = make_engine(store_url(Settings(database_url=f"sqlite:///{path}"), ""))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        other_worker.execute("COMMIT")
        engine.dispose()
        with engine.connect() as connection:  # the next connection makes the file WAL
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    finally:
        other_worker.close()
        engine.dispose()


WRITES = 60


@pytest.mark.live
@pytest.mark.migrations
def test_parallel_writes_from_two_servers_lose_nothing(database_url):
    """Two gunicorn servers (as two containers) of two workers and four threads each, 16
    clients, cruds and replies at once, on a store none has seen yet: they migrate and seed
    it once between them."""
    env = {"FRONTEND_URL": FRONTEND, "DATABASE_URL": database_url}
    with Gunicorn(env, workers=2) as one, Gunicorn(env, workers=2) as other:
        def write(index: int) -> int:
            url = (one, other)[index % 4 // 2].url
            if index % 2:
                return requests.post(f"{url}/api/activities/{TAILOR}/reply",
                                     json={"message": f"parallel reply {index}"}, timeout=20).status_code
            return requests.post(f"{url}/api/activities", timeout=20,
                                 json={"message": f"parallel crud {index}", "ttl": "1-day"}).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(write, range(2 * WRITES)))
        shown = requests.get(f"{other.url}/api/activities/{TAILOR}", timeout=10).json()
    assert statuses == [200] * (2 * WRITES), one.output[-3000:] + other.output[-3000:]
    assert shown["replies_count"] == WRITES
    assert sorted(r["message"] for r in shown["replies"]) == sorted(f"parallel reply {i}" for i in range(1, 2 * WRITES, 2))
    with engine(database_url) as db, db.connect() as connection:
        stored = connection.execute(select(activities.c.message).where(activities.c.message.like("parallel crud %"))).scalars()
        assert sorted(stored) == sorted(f"parallel crud {i}" for i in range(0, 2 * WRITES, 2))
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == 4
        assert connection.execute(select(func.count()).select_from(replies)).scalar_one() == WRITES + 2


def test_compose_runs_postgresql_with_a_healthcheck_and_a_volume_and_the_backend_waits_for_it():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    db, backend = compose["services"]["db"], compose["services"]["backend-flask"]
    assert re.fullmatch(r"postgres:1[7-9](\.\d+)?", db["image"])
    assert "pg_isready" in db["healthcheck"]["test"]
    (volume,) = db["volumes"]
    assert volume.split(":")[0] in compose["volumes"] and volume.endswith(":/var/lib/postgresql/data")
    assert backend["depends_on"] == {"db": {"condition": "service_healthy"}}
    user, password, name = (db["environment"][f"POSTGRES_{key}"] for key in ("USER", "PASSWORD", "DB"))
    assert backend["environment"]["CONNECTION_URL"].endswith(f":-postgresql://{user}:{password}@db:5432/{name}}}")


@pytest.mark.parametrize(("environ", "chosen"), [
    ({}, None),
    ({"CONNECTION_URL": "postgresql://bootcamp@db/cruddur"}, "postgresql://bootcamp@db/cruddur"),
    ({"DATABASE_URL": "sqlite:////data/cruddur.db", "CONNECTION_URL": "postgresql://bootcamp@db/cruddur"},
     "sqlite:////data/cruddur.db"),
    ({"DATABASE_URL": " ", "CONNECTION_URL": "postgresql://bootcamp@db/cruddur"}, "postgresql://bootcamp@db/cruddur"),
])
def test_database_url_wins_over_the_bootcamps_connection_url(environ, chosen):
    assert Settings.from_env(environ).database_url == chosen


@pytest.mark.parametrize(("environ", "scheme"), [
    ({"DATABASE_URL": "mysql://cruddur:secret-pw@db/cruddur"}, "mysql"),
    ({"CONNECTION_URL": "postgresql+psycopg2://cruddur:secret-pw@db/cruddur"}, "postgresql+psycopg2"),
    ({"DATABASE_URL": "cruddur.db"}, "none"),
])
def test_a_database_url_of_no_supported_store_is_a_config_error_that_hides_the_url(environ, scheme):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(environ)
    assert str(error.value) == (f"{next(iter(environ))} is not a URL of SQLite or PostgreSQL (its scheme: {scheme}): "
                                "use sqlite:///<file> or postgresql://<user>:<password>@<host>/<database>")


def test_the_default_store_is_a_file_in_the_instance_folder_and_postgresql_means_psycopg_3():
    assert str(store_url(Settings(), "/srv/instance")) == "sqlite:////srv/instance/cruddur.db"
    assert store_url(Settings(database_url="postgresql://u@h/d"), "").drivername == "postgresql+psycopg"


def test_the_databases_password_is_never_logged_or_shown(make_app, json_lines):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    password = "pw-that-must-stay-hidden-7c1e"
    app = make_app({"DATABASE_URL": f"postgresql://cruddur:{password}@127.0.0.1:{port}/cruddur"})
    client = app.test_client()
    assert client.get("/api/activities/home").status_code == 503
    assert password not in client.get("/api/health").text
    output = json.dumps(json_lines())
    assert f"store: postgresql+psycopg://cruddur:***@127.0.0.1:{port}/cruddur" in output
    assert password not in output and password not in repr(app.extensions["cruddur.settings"])


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_postgresql_fails_under_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setattr("tests.peers.postgres.BIN_DIRS", [])
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL's server is missing"):
        need_postgres()
