"""Security against the live gunicorn server: no secret leaks, CORS, no debugger, no Rollbar flood.

tests/test_one_trace.py checks secrets for one request in process, tests/test_cors.py the
CORS rules via the test client and tests/test_rollbar.py the interval for sequential
requests; these tests send everything a hostile caller would, to the real server.
"""
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from cruddur import create_app
from tests.conftest import AWS_SECRET, FRONTEND
from tests.peers.rollbar import RollbarStandIn
from tests.processes import Gunicorn
from tests.reliability.test_bad_input import schema
from tests.test_dockerfile import instruction
from tests.reliability.conftest import HONEYCOMB_KEY, ROLLBAR_TOKEN, all_on

pytestmark = pytest.mark.live

CALLER_SECRETS = {
    "Authorization": "Bearer caller-bearer-5e1f",
    "Proxy-Authorization": "Basic caller-proxy-7a2c",
    "Cookie": "session=caller-cookie-3b8d",
    "X-Api-Key": "caller-api-key-9c4e",
    "X-Honeycomb-Team": "caller-honeycomb-2f6a",
    "X-Amz-Security-Token": "caller-amz-token-8d1b",
    "X-Rollbar-Access-Token": "caller-rollbar-4a7c",
}
QUERY_SECRETS = {"token": "caller-query-token-6e3a", "api_key": "caller-query-key-1d9f",
                 "access_token": "caller-query-access-5b2e"}
BODY_SECRETS = {"password": "caller-body-password-7f4c", "secret": "caller-body-secret-3e8a"}
SECRETS = [HONEYCOMB_KEY, ROLLBAR_TOKEN, AWS_SECRET, *QUERY_SECRETS.values(), *BODY_SECRETS.values(),
           *(value.split()[-1].split("=")[-1] for value in CALLER_SECRETS.values())]
ROUTES = [
    ("GET", "/api/health"), ("GET", "/api/activities/home"), ("GET", "/api/activities/notifications"),
    ("GET", "/api/activities/@worf"), ("GET", "/api/activities/@nobody"), ("GET", "/api/activities/search"),
    ("POST", "/api/activities"), ("GET", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee"),
    ("POST", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee/reply"), ("GET", "/api/message_groups"),
    ("GET", "/api/messages/@worf"), ("POST", "/api/messages"), ("GET", "/api/nope"), ("DELETE", "/api/activities/home"),
    ("GET", "/rollbar/test"), ("GET", "/rollbar/test"), ("POST", "/boom"),
]
REPO = Path(__file__).resolve().parents[2]
# The image's command, as test_dockerfile.py reads it.
PRODUCTION_COMMAND = json.loads(instruction("CMD")[0])
# The same gunicorn and app, plus one test-only route that raises.
FAILING_COMMAND = ["gunicorn", "--pythonpath", str(REPO), "tests.reliability.test_security:failing_app()"]


def boom():
    raise RuntimeError("boom: nobody expected this")


def failing_app():
    app = create_app()
    app.add_url_rule("/boom", view_func=boom, methods=["GET", "POST"])
    return app


def test_no_secret_leaks_from_any_route_whatever_the_request_sends(peers, aws_env, moto):
    otlp, xray, rollbar = peers
    server = Gunicorn(command=FAILING_COMMAND, env={
        **all_on(otlp, xray, rollbar),
        # Asks the instrumentation to record every header on spans: the sensitive ones must be redacted.
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST": ".*",
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE": ".*",
        "OTEL_TRACES_EXPORTER": "otlp,console",
    }).start()
    try:
        responses = [requests.request(method, server.url + path, params={"term": "cloud", **QUERY_SECRETS},
                                      json={"message": "hi", "ttl": "1-day", **BODY_SECRETS},
                                      headers=CALLER_SECRETS, timeout=10)
                     for method, path in ROUTES]
    finally:
        output = server.stop()

    assert responses[-1].status_code == 500
    assert len(rollbar.received) >= 2 and xray.documents and moto.events("cruddur"), "every peer got data to leak"
    spans = otlp.spans()
    server_spans = [span for span in spans if span["kind"] == "SERVER"]
    assert server_spans and all(span["attributes"]["http.request.header.authorization"] == ["[REDACTED]"]
                                for span in server_spans)
    everything = "\n".join([
        output, json.dumps(spans), json.dumps(xray.documents), json.dumps(moto.events("cruddur")),
        *(entry["raw"] for entry in rollbar.received),
        *(r.text + json.dumps(dict(r.headers)) for r in responses),
    ])
    assert [secret for secret in SECRETS if secret in everything] == []


@pytest.mark.parametrize("origin", [
    "null", "http://evil.example", "http://localhost:3000.evil.example", "http://localhost:3000@evil.example",
    "http://evil.localhost:3000", "http://localhost:30001", "https://localhost:3000", "http://127.0.0.1:3000",
    "http://localhost", "*",
])
def test_the_live_server_grants_unknown_origins_nothing(live_backend, origin):
    answers = [
        requests.get(f"{live_backend.url}/api/activities/home", headers={"Origin": origin}, timeout=10),
        requests.post(f"{live_backend.url}/api/activities", json={"message": "hi", "ttl": "1-day"},
                      headers={"Origin": origin}, timeout=10),
        requests.options(f"{live_backend.url}/api/activities", timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}),
    ]
    for response in answers:
        assert response.ok
        assert not [name for name in response.headers if name.lower().startswith("access-control-allow")]
    # The same requests from the front end are allowed: the refusals above are about the origin.
    allowed = requests.get(f"{live_backend.url}/api/activities/home", headers={"Origin": FRONTEND}, timeout=10)
    assert allowed.headers["Access-Control-Allow-Origin"] == FRONTEND


DEBUGGER_REQUESTS = [
    "/?__debugger__=yes&cmd=resource&f=style.css",
    "/api/activities/home?__debugger__=yes&cmd=resource&f=debugger.js",
    "/api/nope?__debugger__=yes&cmd=printpid",
    "/api/nope?__debugger__=yes&cmd=pinauth&pin=123-456-789&s=secret",
    "/api/nope?__debugger__=yes&frm=0&cmd=__import__('os').getpid()&s=secret",
    "/console",
]


def assert_no_debugger(response: requests.Response) -> None:
    assert response.headers["Content-Type"] == "application/json"
    assert "werkzeug" not in response.text.lower() and "debugger" not in response.text.lower()


def test_flask_debug_turns_on_no_debugger_in_the_production_command():
    with Gunicorn({"FLASK_DEBUG": "1"}, command=PRODUCTION_COMMAND) as server:
        responses = [requests.get(server.url + path, timeout=10) for path in DEBUGGER_REQUESTS]
    assert [response.status_code for response in responses] == [404, 200, 404, 404, 404, 404]
    for response in responses:
        assert_no_debugger(response)
    assert "Debugger" not in server.output


def test_an_unhandled_exception_is_a_json_500_without_traceback_even_with_flask_debug():
    with Gunicorn({"FLASK_DEBUG": "1"}, command=FAILING_COMMAND) as server:
        responses = [requests.get(f"{server.url}/boom{query}", timeout=10) for query in ("", "?__debugger__=yes")]
    for response in responses:
        assert (response.status_code, response.json()) == (500, ["internal_server_error"])
        assert_no_debugger(response)
        assert "Traceback" not in response.text and "nobody expected" not in response.text
    # The traceback is for the server's log only.
    assert "RuntimeError: boom: nobody expected this" in server.output


# /rollbar/test's rate limit per worker, set (ROLLBAR_TEST_INTERVAL) as production's default.
TEST_REPORT_INTERVAL_S = 10


def test_concurrent_rollbar_test_requests_report_at_most_once_per_worker_and_interval():
    workers, requests_sent = 2, 200
    with RollbarStandIn() as stand_in:
        with Gunicorn({"ROLLBAR_ACCESS_TOKEN": ROLLBAR_TOKEN, "ROLLBAR_ENDPOINT": stand_in.endpoint,
                       "ROLLBAR_TEST_INTERVAL": str(TEST_REPORT_INTERVAL_S)}, workers=workers) as server:
            started = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                responses = list(pool.map(lambda _: requests.get(f"{server.url}/rollbar/test", timeout=10),
                                          range(requests_sent)))
            windows = int((time.monotonic() - started) // TEST_REPORT_INTERVAL_S) + 1
        # Leaving the block stopped gunicorn, which flushed every item.
        items = stand_in.items()
    reported = [response for response in responses if response.status_code == 200]
    assert 1 <= len(items) == len(reported) <= workers * windows
    for response in responses:
        schema["/rollbar/test"]["GET"].validate_response(response)
        if response.status_code != 200:
            assert (response.status_code, response.json()) == (429, ["rate_limited"])
            assert int(response.headers["Retry-After"]) <= TEST_REPORT_INTERVAL_S
