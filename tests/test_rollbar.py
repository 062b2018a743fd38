"""Rollbar against a stand-in for its item API on loopback. The SDK is process-wide, set up by the
first app of a process: its items are proven under gunicorn, serving the app plus a `/boom` route
that raises; only "off" is proven in process."""
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from cruddur import create_app
from tests.peers.rollbar import RollbarStandIn
from tests.processes import Gunicorn, free_port

TOKEN = "rollbar-test-token-7d41c2"
ENVIRONMENT = "cruddur-tests"
# The same gunicorn and app, plus the route that raises.
FAILING_COMMAND = ["gunicorn", "--pythonpath", str(Path(__file__).resolve().parents[1]),
                   "tests.test_rollbar:failing_app()"]
SECRETS = {"Authorization": "Bearer s3cr3t-authorization-9a8b", "X-Auth-Token": "s3cr3t-x-auth-token-4d2e",
           "X-Api-Token": "s3cr3t-x-api-token-8c1f", "X-Honeycomb-Team": "s3cr3t-honeycomb-1e2f"}
COOKIE, PASSWORD, QUERY_TOKEN = "s3cr3t-cookie-5c6d", "s3cr3t-password-3a4b", "s3cr3t-query-token-7e8f"


def boom():
    from flask import request

    raw_body = request.get_data(as_text=True)  # would reach the item if frame locals were sent
    raise RuntimeError(f"boom: nobody expected a body of {len(raw_body)} characters")


def failing_app():
    app = create_app()
    app.add_url_rule("/boom", view_func=boom, methods=["GET", "POST"])
    return app


def reporting_to(stand_in: RollbarStandIn, **env) -> dict[str, str]:
    return {"ROLLBAR_ACCESS_TOKEN": TOKEN, "ROLLBAR_ENVIRONMENT": ENVIRONMENT, "ROLLBAR_ENDPOINT": stand_in.endpoint,
            **env}


def item_of(stand_in: RollbarStandIn, response: requests.Response) -> dict:
    """The one item with the trace id of `response`, as received with its headers and raw body."""
    trace_id = response.headers["X-Trace-Id"]
    deadline = time.monotonic() + 10
    while not (found := [entry for entry in list(stand_in.received)
                         if entry["item"]["data"]["custom"]["trace_id"] == trace_id]):
        assert time.monotonic() < deadline, f"no item with trace id {trace_id}"
        time.sleep(0.02)
    (entry,) = found
    return entry


@pytest.fixture(scope="module")
def stand_in():
    with RollbarStandIn() as peer:
        yield peer


@pytest.fixture(scope="module")
def server(stand_in):
    """One worker reporting to the stand-in; its database is down (a refused PostgreSQL port)."""
    with Gunicorn(reporting_to(stand_in, ROLLBAR_TEST_INTERVAL="1",
                               DATABASE_URL=f"postgresql://cruddur@127.0.0.1:{free_port()}/cruddur"),
                  workers=1, command=FAILING_COMMAND) as server:
        yield server


@pytest.mark.live
def test_an_unhandled_exception_is_an_item_with_request_route_person_and_trace_id_its_secrets_scrubbed(
        server, stand_in):
    response = requests.post(f"{server.url}/boom?page=2&token={QUERY_TOKEN}", headers=SECRETS,
                             cookies={"session": COOKIE}, data={"password": PASSWORD, "handle": "andrewbrown"},
                             timeout=5)
    assert (response.status_code, response.json()) == (500, ["internal_server_error"])

    received = item_of(stand_in, response)
    assert received["headers"]["X-Rollbar-Access-Token"] == TOKEN
    data = received["item"]["data"]
    assert (data["level"], data["environment"], data["context"]) == ("error", ENVIRONMENT, "/boom")
    assert data["person"] == {"id": "andrewbrown"}
    trace = data["body"]["trace"]
    assert trace["exception"] == {
        "class": "RuntimeError", "message": "boom: nobody expected a body of 48 characters"}
    assert trace["frames"][-1]["method"] == "boom" and trace["frames"][-1]["filename"].endswith("tests/test_rollbar.py")
    assert not [frame for frame in trace["frames"] if "locals" in frame or "args" in frame]
    request = data["request"]
    assert {key: request[key] for key in ("method", "url", "route")} == {
        "method": "POST", "url": f"{server.url}/boom?page=2&token=REDACTED", "route": "/boom"}
    # The one secret policy masks what it names secret, wherever it is: headers, query, body fields.
    for header in (*SECRETS, "Cookie"):
        assert set(request["headers"][header]) == {"*"}
    assert set(request["GET"]["token"]) == {"*"} and request["GET"]["page"] == "2"
    assert set(request["POST"]["password"]) == {"*"} and request["POST"]["handle"] == "andrewbrown"
    secrets = (*SECRETS.values(), COOKIE, PASSWORD, QUERY_TOKEN, TOKEN)
    assert [secret for secret in secrets if secret in received["raw"]] == [], "the token travels in its header only"


@pytest.mark.live
def test_rollbar_test_reports_a_warning_at_most_once_per_interval(server, stand_in):
    first = requests.get(f"{server.url}/rollbar/test?page=2", timeout=5)
    assert (first.status_code, first.headers["Content-Type"], first.text) == (
        200, "text/plain; charset=utf-8", "Hello World!")
    limited = requests.get(f"{server.url}/rollbar/test", timeout=5)
    assert (limited.status_code, limited.json(), limited.headers["Retry-After"]) == (429, ["rate_limited"], "1")
    time.sleep(float(limited.headers["Retry-After"]))
    again = requests.get(f"{server.url}/rollbar/test", timeout=5)
    assert again.status_code == 200

    data = item_of(stand_in, first)["item"]["data"]
    assert (data["level"], data["body"], data["context"], data["person"]) == (
        "warning", {"message": {"body": "Hello World!"}}, "/rollbar/test", {"id": "andrewbrown"})
    assert (data["request"]["url"], data["request"]["route"]) == (f"{server.url}/rollbar/test?page=2", "/rollbar/test")
    assert item_of(stand_in, again)["item"]["data"]["level"] == "warning"
    assert not [entry for entry in stand_in.received
                if entry["item"]["data"]["custom"]["trace_id"] == limited.headers["X-Trace-Id"]]


@pytest.mark.live
def test_a_database_outage_is_a_503_and_still_an_item_with_the_trace_id(server, stand_in):
    response = requests.get(f"{server.url}/api/activities/home", timeout=10)
    assert (response.status_code, response.json()) == (503, ["database_unavailable"])
    data = item_of(stand_in, response)["item"]["data"]
    (outer, *causes) = data["body"]["trace_chain"]  # SQLAlchemy's error, then the driver's
    assert (data["level"], outer["exception"]["class"], data["context"]) == (
        "error", "OperationalError", "/api/activities/home")
    assert causes


@pytest.mark.live
def test_the_startup_line_and_output_keep_the_token_out(server, stand_in):
    assert requests.get(f"{server.url}/api/health", timeout=5).json()["integrations"]["rollbar"] == "on"
    output = server.read_output()
    assert f"rollbar: on (environment {ENVIRONMENT}, items to {stand_in.endpoint})" in output
    assert TOKEN not in output


def test_off_without_a_token_and_rollbar_test_is_not_found(make_app, caplog):
    client = make_app({"ROLLBAR_ACCESS_TOKEN": ""}).test_client()
    response = client.get("/rollbar/test")
    assert (response.status_code, response.get_json()) == (404, ["not_found"])
    assert client.get("/api/health").get_json()["integrations"]["rollbar"] == "off"
    (line,) = [record for record in caplog.records if getattr(record, "integration", None) == "rollbar"]
    assert (line.enabled, line.detail) == (False, "set ROLLBAR_ACCESS_TOKEN to report errors")


@pytest.mark.live
def test_beyond_the_pending_bound_items_are_dropped_and_sigterm_waits_for_those_in_flight():
    # Rollbar slow to read each item: the first two are still on their way when SIGTERM comes.
    with RollbarStandIn(delay_s=2) as slow:
        server = Gunicorn(reporting_to(slow, ROLLBAR_MAX_PENDING_ITEMS="2", ROLLBAR_ENVIRONMENT=""), workers=1,
                          command=FAILING_COMMAND).start()
        try:
            with ThreadPoolExecutor(5) as pool:
                answers = list(pool.map(lambda _: requests.get(f"{server.url}/boom", timeout=5), range(5)))
            in_flight = slow.items()
        finally:
            server.stop()
        items = slow.items()
    assert [(answer.status_code, answer.json()) for answer in answers] == [(500, ["internal_server_error"])] * 5
    assert in_flight == []
    assert len(items) == 2, "the three beyond the bound were dropped"
    assert {item["data"]["custom"]["trace_id"] for item in items} < {a.headers["X-Trace-Id"] for a in answers}
    assert {item["data"]["environment"] for item in items} == {"production"}, "the journal's default"
