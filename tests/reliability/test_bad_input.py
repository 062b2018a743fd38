"""Bad input against the live gunicorn server: a thorough schemathesis run and hostile values.

tests/test_live.py has the quick schemathesis smoke run; this one generates thousands of
requests in both modes, and tests/test_api.py holds the same hostile bodies via the test client.
"""
import http.client
import json
import re
import secrets
import socket
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks

from tests.conftest import BACKEND, FRONTEND
from tests.peers.rollbar import RollbarStandIn
from tests.processes import GUNICORN_CMD_ARGS, Gunicorn
from tests.reliability.conftest import all_on

pytestmark = pytest.mark.live

SPEC = Path(__file__).resolve().parents[2] / "backend-flask" / "openapi-3.0.yml"
schema = schemathesis.openapi.from_path(SPEC)
# Valid requests must be answered as the spec says, invalid ones refused with a 4xx.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
EXCLUDED_CHECKS = [
    # The API has no authentication yet: nothing answers 401 or 403.
    checks.ignored_auth, checks.object_level_authorization,
]


@pytest.fixture(scope="module")
def server():
    """gunicorn as live_backend runs it, plus Rollbar (to a stand-in), so that /rollbar/test exists too."""
    with RollbarStandIn() as rollbar, Gunicorn({
        "FRONTEND_URL": FRONTEND, "BACKEND_URL": BACKEND,
        "ROLLBAR_ACCESS_TOKEN": "rollbar-fake-bad-input-token", "ROLLBAR_ENDPOINT": rollbar.endpoint,
    }) as server:
        yield server


@pytest.fixture(scope="module")
def session():
    with requests.Session() as session:
        yield session


@pytest.mark.generated
@schema.parametrize()
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_5xx_and_match_the_spec(case, server, session):
    case.call_and_validate(base_url=server.url, session=session, excluded_checks=EXCLUDED_CHECKS)


TAILOR = "248959df-3079-4947-b847-9e0892d1bab4"
HOSTILE = {
    "10k handle": "a" * 10_000,
    "unicode": "✨ 日本 \u202e\U0001f600\ufeff",
    "control characters": "\x01\x07\x1b[31m\r\n\t\x7f",
    "nul byte": "nul\x00byte",
    "html": "<script>alert(1)</script>",
    "path traversal": "../../../etc/passwd",
    "encoded traversal": "..%2F..%2Fetc%2Fpasswd",
    "windows traversal": "..\\..\\windows\\win.ini",
    "huge number": "1" + "0" * 400,
}


def targets(value: str) -> list[tuple[str, str, bytes | None]]:
    """(method, target, JSON body) putting `value` in every route's path, query or body."""
    # "/" and "%" stay raw, so traversal reaches the router as sent; the rest is encoded.
    path, query = quote(value, safe="/%"), quote(value, safe="")
    return [
        ("GET", f"/api/activities/@{path}", None),
        ("GET", f"/api/messages/@{path}", None),
        ("GET", f"/api/activities/{path}", None),
        ("POST", f"/api/activities/{path}/reply", json.dumps({"message": "hi"}).encode()),
        ("GET", f"/api/activities/search?term={query}", None),
        *(("GET", f"{route}?{query}={query}", None) for route in (
            "/api/health", "/api/activities/home", "/api/activities/notifications", "/api/message_groups")),
        ("POST", "/api/activities", json.dumps({"message": value, "ttl": value}).encode()),
        ("POST", f"/api/activities/{TAILOR}/reply", json.dumps({"message": value}).encode()),
        ("POST", "/api/messages", json.dumps({"user_receiver_handle": value, "message": value}).encode()),
    ]


RAW_BODIES = {
    "nested 100 000 deep": b"[" * 100_000 + b"]" * 100_000,
    "nested 100 000 deep in a field": b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b', "ttl": "1-day"}',
    "huge float": b'{"message": 1e999, "ttl": -1e999, "user_receiver_handle": 1e999}',
    "5000-digit integer": b'{"message": 1' + b"0" * 5000 + b', "ttl": "1-day"}',
    "lone surrogate": b'{"message": "\\ud800", "ttl": "1-day", "user_receiver_handle": "\\udfff"}',
    "invalid utf-8": b'{"message": "\xff\xfe", "ttl": "1-day"}',
    "nul in json": b'{"message": "a\\u0000b", "ttl": "1-day", "user_receiver_handle": "worf"}',
}


def send(server, method: str, target: str, body: bytes | None = None) -> http.client.HTTPResponse:
    """Sends `target` exactly as given (requests would normalise `../` away), the whole request in one
    write, and reads the answer: gunicorn answers a request line that is too long at once and closes,
    resetting a client that is still sending its body."""
    head = f"{method} {target} HTTP/1.1\r\nHost: cruddur\r\nConnection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"{head}\r\n".encode() + (body or b""))
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.body = response.read()
    return response


def assert_answered_safely(response: http.client.HTTPResponse) -> None:
    assert response.status < 500, (response.status, response.body[:200])
    assert b"Traceback" not in response.body
    # JSON, never HTML, gunicorn's own refusals too: a crud that echoes `<script>` is data, not markup.
    assert response.getheader("Content-Type") == "application/json"
    json.loads(response.body)


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_values_in_every_route_get_a_4xx_or_a_normal_json_answer(server, value):
    log_start = len(server.read_output())
    for method, target, body in targets(value):
        assert_answered_safely(send(server, method, target, body))
    log = server.read_output()[log_start:]
    assert "Traceback" not in log and "Logging error" not in log


@pytest.mark.parametrize("body", RAW_BODIES.values(), ids=RAW_BODIES.keys())
@pytest.mark.parametrize("path", ["/api/activities", f"/api/activities/{TAILOR}/reply", "/api/messages"])
def test_hostile_json_bodies_get_a_4xx_or_a_normal_json_answer(server, path, body):
    log_start = len(server.read_output())
    assert_answered_safely(send(server, "POST", path, body))
    log = server.read_output()[log_start:]
    assert "Traceback" not in log and "Logging error" not in log


@pytest.mark.parametrize(("request_head", "status", "codes"), [
    (b"GET /api/activities/@" + b"a" * 10_000 + b" HTTP/1.1\r\n", 414, ["uri_too_long"]),
    (b"GET /api/<script>alert(1)</script> HTTP/1.1 junk\r\n", 400, ["bad_request"]),
    (b"GET /api/activities/home HTTP/9.9\r\n", 400, ["bad_request"]),
    (b"GET /api/activities/home HTTP/1.1\r\nX-Evil: <script>\x01</script>\r\n", 400, ["bad_request"]),
    (b"GET /api/activities/home HTTP/1.1\r\nX-Long: " + b"a" * 10_000 + b"\r\n", 431,
     ["request_header_fields_too_large"]),
], ids=["long request line", "malformed request line", "unknown HTTP version", "control character in a header",
        "long header"])
def test_gunicorns_own_refusals_are_json_with_no_traceback_and_no_input(server, request_head, status, codes):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_head + b"Host: cruddur\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    assert (response.status, response.getheader("Content-Type")) == (status, "application/json")
    assert json.loads(body) == codes  # gunicorn logs what it refused; the answer echoes none of it


BIG = "y" * 100_000
# Far above any real span, segment or log line, far below what a 100 kB input would make.
MAX_RECORD_CHARS = 10_000


def xray_header(trace_id: str, parent: str) -> str:
    """An X-Amzn-Trace-Id that samples the request, so its segment is sent."""
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={parent};Sampled=1"


def test_huge_input_makes_no_huge_span_segment_or_log_event(peers, aws_env, moto):
    """Through a real process, as every test with a vendor on does: the SDKs' state is the
    process's, set once. SIGTERM flushes what the worker holds, so the peers have it all."""
    otlp, xray, rollbar = peers
    server = Gunicorn({**all_on(otlp, xray, rollbar), "OTEL_TRACES_EXPORTER": "otlp,console",
                       # No limit on the request line or a header, so 100 kB reach the app as through the test client.
                       "GUNICORN_CMD_ARGS": f"{GUNICORN_CMD_ARGS} --limit-request-line 0 --limit-request-field_size 200000"},
                      workers=1).start()
    trace_ids = [secrets.token_hex(16) for _ in range(5)]
    forged = trace_ids[4]
    try:
        sent = [
            requests.get(f"{server.url}/api/activities/search", params={"term": BIG}, timeout=10,
                         headers={"X-Amzn-Trace-Id": xray_header(trace_ids[0], "a" * 16)}),
            requests.get(f"{server.url}/api/{BIG}", timeout=10,
                         headers={"X-Amzn-Trace-Id": xray_header(trace_ids[1], "b" * 16)}),
            requests.post(f"{server.url}/api/messages", json={"user_receiver_handle": BIG, "message": BIG}, timeout=10,
                          headers={"X-Amzn-Trace-Id": xray_header(trace_ids[2], "c" * 16)}),
            requests.get(f"{server.url}/api/activities/home", timeout=10, headers={
                "User-Agent": BIG, "X-Forwarded-For": BIG, "Referer": BIG,
                "X-Amzn-Trace-Id": xray_header(trace_ids[3], "d" * 16)}),
            # A valid traceparent beside an X-Ray header that names the same trace with a forged Parent.
            requests.get(f"{server.url}/api/activities/home", timeout=10, headers={
                "traceparent": f"00-{forged}-{'e' * 16}-01", "X-Amzn-Trace-Id": xray_header(forged, BIG)}),
        ]
    finally:
        output = server.stop()
    assert [response.status_code for response in sent] == [422, 404, 422, 200, 200]

    spans = otlp.spans()  # the module's other tests share the peers: theirs are checked for size too
    assert {span["trace_id"] for span in spans} >= set(trace_ids)
    assert all(len(json.dumps(span)) < MAX_RECORD_CHARS for span in spans)
    ours = {f"1-{t[:8]}-{t[8:]}" for t in trace_ids}
    segments = xray.segments()
    assert sorted(segment["trace_id"] for segment in segments if segment["trace_id"] in ours) == sorted(ours)
    assert all(len(json.dumps(segment)) < MAX_RECORD_CHARS for segment in segments)
    assert all(re.fullmatch("[0-9a-f]{16}", segment.get("parent_id", "0" * 16)) for segment in segments)
    events = [event["message"] for event in moto.events("cruddur")]
    assert len(events) >= len(sent)
    lines = output.splitlines()
    assert all(len(line) < MAX_RECORD_CHARS for line in [*events, *lines])
    # Each clipped attribute is told once a minute at most, not once per request.
    truncations = [line for line in lines if "exceeds max length" in line]
    assert len(truncations) <= 1
