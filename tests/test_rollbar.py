"""Rollbar against a stand-in for its API on loopback: warnings, errors, scrubbing, limits, shutdown."""
import threading
import time

import pytest
import requests
from flask import request

from cruddur.observability import TELEMETRY
from cruddur.observability import rollbar as rollbar_integration
from cruddur.routes import rollbar as rollbar_route
from tests.conftest import startup_detail
from tests.peers.rollbar import RollbarStandIn
from tests.processes import Gunicorn, free_port

TOKEN = "rollbar-test-token-7d41c2"
ENVIRONMENT = "cruddur-tests"
SECRETS = {
    "authorization": "Bearer s3cr3t-authorization-9a8b",
    "x-auth-token": "s3cr3t-x-auth-token-4d2e",
    "x-api-token": "s3cr3t-x-api-token-8c1f",
    "cookie": "s3cr3t-cookie-5c6d",
    "honeycomb": "s3cr3t-honeycomb-1e2f",
    "password": "s3cr3t-password-3a4b",
    "query": "s3cr3t-query-token-7e8f",
}


class Boom(Exception):
    pass


def boom():
    raw_body = request.get_data(as_text=True)  # would reach the item if frame locals were sent
    raise Boom(f"failed after reading {len(raw_body)} characters")


@pytest.fixture
def stand_in():
    # Slow enough that an item is still on its way when a test flushes: the flush must wait for it.
    with RollbarStandIn(delay_s=0.2) as peer:
        yield peer


@pytest.fixture
def make_rollbar_app(make_app, stand_in):
    """An app reporting to the stand-in, with a `/boom` route that raises."""
    apps = []

    def make(**overrides):
        app = make_app({"ROLLBAR_ACCESS_TOKEN": TOKEN, "ROLLBAR_ENVIRONMENT": ENVIRONMENT,
                        "ROLLBAR_ENDPOINT": stand_in.endpoint, **overrides})
        app.add_url_rule("/boom", view_func=boom, methods=["GET", "POST"])
        apps.append(app)
        return app
    yield make
    # The SDK is process-wide: an item a sender still holds after its shutdown's deadline would
    # be posted to the next test's stand-in, so each sender is let finish here.
    stand_in.release()
    for app in apps:
        flush(app)
        sender = app.extensions[rollbar_integration.EXTENSION].drain.thread
        if sender.ident is not None:
            sender.join(10)


def flush(app) -> None:
    app.extensions[TELEMETRY].shutdown()


def rollbar_status(client) -> dict:
    response = client.get("/api/health")
    assert TOKEN not in response.get_data(as_text=True)
    return response.get_json()["integrations"]["rollbar"]


def test_rollbar_test_reports_the_warning_with_request_person_and_trace_id(make_rollbar_app, stand_in):
    app = make_rollbar_app()
    client = app.test_client()
    response = client.get("/rollbar/test?page=2")
    assert response.status_code == 200
    assert response.mimetype == "text/plain" and response.get_data(as_text=True) == "Hello World!"
    flush(app)

    (received,) = stand_in.received
    assert received["headers"]["X-Rollbar-Access-Token"] == TOKEN
    assert TOKEN not in received["raw"], "the token travels in the header only"
    data = received["item"]["data"]
    assert data["level"] == "warning"
    assert data["body"] == {"message": {"body": "Hello World!"}}
    assert data["environment"] == ENVIRONMENT
    assert {key: data["request"][key] for key in ("method", "url", "route")} == {
        "method": "GET", "url": "http://localhost/rollbar/test?page=2", "route": "/rollbar/test"}
    assert data["context"] == "/rollbar/test"
    assert data["person"] == {"id": "andrewbrown"}
    assert data["custom"]["trace_id"] == response.headers["X-Trace-Id"]


def test_unhandled_exception_is_reported_as_an_error_while_the_api_answers_json_500(make_rollbar_app, stand_in):
    app = make_rollbar_app()
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == ["internal_server_error"]
    flush(app)

    (item,) = stand_in.items()
    data = item["data"]
    assert data["level"] == "error"
    trace = data["body"]["trace"]
    assert trace["exception"] == {"class": "Boom", "message": "failed after reading 0 characters"}
    assert trace["frames"][-1]["method"] == "boom"
    assert trace["frames"][-1]["filename"].endswith("tests/test_rollbar.py")
    assert {key: data["request"][key] for key in ("method", "url", "route")} == {
        "method": "GET", "url": "http://localhost/boom", "route": "/boom"}
    assert data["person"] == {"id": "andrewbrown"}
    assert data["custom"]["trace_id"] == response.headers["X-Trace-Id"]


@pytest.mark.parametrize("body", ["form", "json"])
def test_secrets_are_scrubbed_and_the_token_never_leaves_the_header(make_rollbar_app, stand_in, capsys, caplog,
                                                                    body):
    app = make_rollbar_app()
    client = app.test_client()
    client.set_cookie("session", SECRETS["cookie"])
    fields = {"password": SECRETS["password"], "handle": "andrewbrown"}
    response = client.post(
        f"/boom?token={SECRETS['query']}",
        headers={"Authorization": SECRETS["authorization"], "X-Honeycomb-Team": SECRETS["honeycomb"],
                 "X-Auth-Token": SECRETS["x-auth-token"], "X-Api-Token": SECRETS["x-api-token"]},
        **({"data": fields} if body == "form" else {"json": fields}),
    )
    assert response.status_code == 500
    assert TOKEN not in response.get_data(as_text=True)
    assert rollbar_status(client) == "on"
    flush(app)

    (received,) = stand_in.received
    for secret in (*SECRETS.values(), TOKEN):
        assert secret not in received["raw"]
    # The secrets were there to scrub: their fields arrive, masked.
    reported = received["item"]["data"]["request"]
    for header in ("Authorization", "Cookie", "X-Honeycomb-Team", "X-Auth-Token", "X-Api-Token"):
        assert set(reported["headers"][header]) == {"*"}
    assert set(reported["GET"]["token"]) == {"*"}
    if body == "form":
        assert set(reported["POST"]["password"]) == {"*"} and reported["POST"]["handle"] == "andrewbrown"
    output = capsys.readouterr()
    assert TOKEN not in output.out + output.err + caplog.text


def test_off_without_a_token_reports_nothing_even_with_the_sdk_set_up_in_the_process(make_app, make_rollbar_app,
                                                                                      stand_in, capsys):
    first = make_rollbar_app()  # sets up the process-global SDK, as an earlier app in a test run may have
    app = make_app({"ROLLBAR_ACCESS_TOKEN": "", "ROLLBAR_ENDPOINT": stand_in.endpoint})
    app.add_url_rule("/boom", view_func=boom)
    client = app.test_client()

    response = client.get("/rollbar/test")
    assert response.status_code == 404 and response.get_json() == ["not_found"]
    assert client.get("/boom").status_code == 500
    assert rollbar_status(client) == "off"
    assert "ROLLBAR_ACCESS_TOKEN" in startup_detail(capsys.readouterr().out, "rollbar")

    flush(first)
    flush(app)
    assert stand_in.received == []


def test_rollbar_test_reports_at_most_once_per_interval(make_rollbar_app, stand_in, monkeypatch):
    monkeypatch.setattr(rollbar_route, "TEST_REPORT_INTERVAL_S", 0.5)
    app = make_rollbar_app()
    client = app.test_client()

    assert client.get("/rollbar/test").status_code == 200
    limited = client.get("/rollbar/test")
    assert limited.status_code == 429
    assert limited.get_json() == ["rate_limited"] and limited.headers["Retry-After"] == "1"
    time.sleep(0.5)
    assert client.get("/rollbar/test").status_code == 200
    flush(app)

    assert [item["data"]["body"]["message"]["body"] for item in stand_in.items()] == ["Hello World!"] * 2


def test_a_hanging_rollbar_slows_neither_the_request_nor_the_shutdown(make_rollbar_app, stand_in, capsys):
    stand_in.hold()
    app = make_rollbar_app()
    client = app.test_client()

    started = time.monotonic()
    assert client.get("/boom").status_code == 500
    assert time.monotonic() - started < 1, "items are posted off the request's thread"
    stand_in.wait_for(1)

    started = time.monotonic()
    app.extensions[TELEMETRY].shutdown(timeout_s=1)
    assert time.monotonic() - started < 2
    assert "rollbar: 1 of 1 items not delivered (0 failed, 0 dropped from a full queue, 1 unsent after 1s at exit)" in capsys.readouterr().out


@pytest.mark.live
def test_gunicorn_workers_report_once_per_interval_and_sigterm_loses_no_item(stand_in):
    with Gunicorn({"ROLLBAR_ACCESS_TOKEN": TOKEN, "ROLLBAR_ENDPOINT": stand_in.endpoint}, workers=2) as server:
        # A new connection each: whichever worker takes it, each reports once in its interval.
        answers = [requests.get(f"{server.url}/rollbar/test", headers={"Connection": "close"}, timeout=5)
                   for _ in range(8)]
    # Leaving the block sent SIGTERM and waited for the workers to exit.
    reported = [answer for answer in answers if answer.status_code == 200]
    assert 1 <= len(reported) <= 2
    assert all(answer.status_code == 429 for answer in answers if answer not in reported)

    items = [item["data"] for item in stand_in.items()]
    assert sorted(item["custom"]["trace_id"] for item in items) == sorted(a.headers["X-Trace-Id"] for a in reported)
    assert len({item["server"]["pid"] for item in items}) == len(items), "at most one item per worker"
    assert server.output.count("rollbar: on") == 2
    assert TOKEN not in server.output
    assert "Traceback" not in server.output


def test_the_environment_defaults_to_production_as_in_the_journal(make_rollbar_app, stand_in):
    app = make_rollbar_app(ROLLBAR_ENVIRONMENT="")
    assert app.test_client().get("/rollbar/test").status_code == 200
    flush(app)
    (item,) = stand_in.items()
    assert item["data"]["environment"] == "production"


def test_items_wait_in_a_bounded_queue_on_one_thread_and_the_oldest_are_dropped(make_rollbar_app, stand_in,
                                                                                 monkeypatch, capsys):
    monkeypatch.setattr(rollbar_integration, "QUEUE_CAPACITY", 3)
    stand_in.hold()
    app = make_rollbar_app()
    client = app.test_client()
    client.get("/api/activities/home")  # telemetry started: the sending thread runs
    def app_threads():  # the stand-in's server has a thread per connection of its own
        return [t for t in threading.enumerate() if "process_request_thread" not in t.name]

    threads = app_threads()
    assert client.get("/boom").status_code == 500
    stand_in.wait_for(1)  # the sending thread now waits on the held item, whatever the machine's load
    for _ in range(9):
        assert client.get("/boom").status_code == 500
    assert app_threads() == threads, "no thread per item"
    app.extensions[TELEMETRY].shutdown(timeout_s=1)
    # One item is held at the stand-in; of the nine after it, the oldest six made room for the last three.
    assert ("rollbar: 10 of 10 items not delivered (0 failed, 6 dropped from a full queue, 4 unsent after 1s at exit)"
            in capsys.readouterr().out)


def test_a_database_that_is_down_is_a_503_and_an_item_with_the_trace_id(make_rollbar_app, stand_in):
    app = make_rollbar_app(DATABASE_URL=f"postgresql://cruddur@127.0.0.1:{free_port()}/cruddur")  # refused
    response = app.test_client().get("/api/activities/home")
    assert (response.status_code, response.get_json()) == (503, ["database_unavailable"])
    flush(app)
    (item,) = stand_in.items()
    assert item["data"]["level"] == "error" and item["data"]["custom"]["trace_id"] == response.headers["X-Trace-Id"]
    (outer, *causes) = item["data"]["body"]["trace_chain"]  # SQLAlchemy's error, then the driver's
    assert outer["exception"]["class"] == "OperationalError" and causes
