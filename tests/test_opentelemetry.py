"""OpenTelemetry, the spine: whole spans from the in-memory exporter, as opentelemetry-python-contrib's
tests assert them; then the process's own wiring, under gunicorn, against an OTLP receiver that
decodes the protobuf."""
import io
import json
import logging
import time

import pytest
import requests
from opentelemetry import trace
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.trace import SpanKind

from cruddur.observability import logs
from cruddur.observability.otel import one_line
from tests.conftest import startup_detail
from tests.peers.otlp import OtlpReceiver
from tests.processes import Gunicorn

HONEYCOMB_KEY = "hcaik_test_not_a_real_key_0123456789"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"
XRAY_CALLER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def server_attributes(path: str, route: str, status: int = 200, **more) -> dict:
    """The stable HTTP attributes of a SERVER span served through Flask's test client."""
    return {"http.request.method": "GET", "url.scheme": "http", "server.address": "localhost", "server.port": 80,
            "url.path": path, "client.address": "127.0.0.1", "user_agent.original": "cruddur-test",
            "network.protocol.version": "1.1", **more, "http.route": route, "http.response.status_code": status}


def finished(spans, kind=None) -> dict:
    """The finished spans by name (each name once), leaving out the store's CLIENT spans unless asked."""
    found = [span for span in spans.get_finished_spans() if kind or span.kind != SpanKind.CLIENT]
    if kind:
        found = [span for span in found if span.kind == kind]
    by_name = {span.name: span for span in found}
    assert len(by_name) == len(found), [span.name for span in found]
    return by_name


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = "cruddur-test"
    return client


def test_the_home_feed_is_a_server_span_with_the_journals_span_and_its_queries_beneath(client, spans):
    response = client.get("/api/activities/home")
    assert response.status_code == 200
    named = finished(spans)
    server, home = named["GET /api/activities/home"], named["home-activites-mock-data"]
    assert (server.kind, server.parent, server.instrumentation_scope.name) == (
        SpanKind.SERVER, None, "opentelemetry.instrumentation.flask")
    assert dict(server.attributes) == server_attributes("/api/activities/home", "/api/activities/home")
    assert (home.kind, home.parent.span_id, home.instrumentation_scope.name) == (
        SpanKind.INTERNAL, server.context.span_id, "home.activities")
    assert dict(home.attributes) == {"app.now": home.attributes["app.now"], "app.result_length": 3}
    assert home.attributes["app.now"].endswith("+00:00")
    queries = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT]
    assert [(span.name.split()[0], span.parent.span_id) for span in queries] == [("SELECT", home.context.span_id)] * 2
    assert {span.context.trace_id for span in spans.get_finished_spans()} == {server.context.trace_id}
    assert response.headers["X-Trace-Id"] == trace.format_trace_id(server.context.trace_id)


def test_the_trace_id_is_a_valid_xray_id(client):
    trace_id = client.get("/api/activities/home").headers["X-Trace-Id"]
    # AWS's id generator puts the start time, in epoch seconds, in the first 8 hex digits.
    assert abs(int(trace_id[:8], 16) - time.time()) < 600


def test_the_journals_mock_data_span_and_the_services_attributes(client, spans):
    client.get("/api/activities/@worf")
    client.get("/api/messages/@worf")
    named = finished(spans)
    user, mock_data = named["GET /api/activities/@<handle>"], named["mock-data"]
    assert dict(user.attributes) == server_attributes("/api/activities/@worf", "/api/activities/@<handle>", **{
        "app.user_handle": "worf", "app.result_length": 1})
    assert (mock_data.kind, mock_data.parent.span_id, mock_data.instrumentation_scope.name) == (
        SpanKind.INTERNAL, user.context.span_id, "user.activities")
    assert set(mock_data.attributes) == {"app.now", "app.result_length"}
    assert named["GET /api/messages/@<handle>"].attributes["app.receiver_handle"] == "worf"


@pytest.mark.parametrize(("headers", "trace_id", "parent_id"), [
    ({"traceparent": TRACEPARENT}, CALLER_TRACE, "00f067aa0ba902b7"),
    ({"X-Amzn-Trace-Id": XRAY_CALLER}, "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"),
])
def test_a_callers_header_continues_its_trace(client, spans, headers, trace_id, parent_id):
    response = client.get("/api/activities/home", headers=headers)
    server = finished(spans)["GET /api/activities/home"]
    assert (trace.format_trace_id(server.context.trace_id), trace.format_span_id(server.parent.span_id)) == (
        trace_id, parent_id)
    assert server.parent.is_remote and response.headers["X-Trace-Id"] == trace_id


@pytest.fixture
def requests_instrumented():
    """requests instrumented, as in every Cruddur process (conftest leaves the tests' own calls bare)."""
    RequestsInstrumentor().instrument()
    yield
    RequestsInstrumentor().uninstrument()


def test_an_outgoing_requests_call_is_a_client_child_of_the_request(app, client, spans, requests_instrumented):
    with OtlpReceiver() as other:
        app.add_url_rule("/api/test/call-out", view_func=lambda: {
            "status": requests.get(f"{other.url}/elsewhere", timeout=5).status_code})
        assert client.get("/api/test/call-out").status_code == 200
    server, call = finished(spans)["GET /api/test/call-out"], finished(spans, SpanKind.CLIENT)["GET"]
    assert (call.parent.span_id, call.instrumentation_scope.name) == (
        server.context.span_id, "opentelemetry.instrumentation.requests")
    assert call.attributes["url.full"] == f"{other.url}/elsewhere"


def test_the_health_check_is_untraced_but_a_query_naming_it_is_not(client, spans):
    assert "X-Trace-Id" not in client.get("/api/health").headers
    assert "X-Trace-Id" not in client.get("/api/health?probe=1").headers
    assert client.get("/api/activities/notifications?x=/api/health").headers["X-Trace-Id"]
    assert list(finished(spans)) == ["GET /api/activities/notifications"]


def test_url_attributes_lose_secret_query_values_and_huge_ones_are_clipped(client, spans):
    client.get("/api/activities/search?term=cloud&api_token=s3cr3t")
    client.get("/api/activities/search", query_string={"term": "y" * 100_000})
    first, second = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert dict(first.attributes) == server_attributes(
        "/api/activities/search", "/api/activities/search", **{"url.query": "term=cloud&api_token=REDACTED",
                                                               "app.search_term": "cloud", "app.result_length": 1})
    assert all(len(str(value)) <= 1024 for value in second.attributes.values())
    assert len(second.attributes["url.query"]) == 1024


def test_an_unrouted_path_is_named_by_its_method_alone(client, spans):
    assert client.get("/api/no/such/thing").status_code == 404
    (server,) = finished(spans).values()
    assert server.name == "GET"
    expected = server_attributes("/api/no/such/thing", None, 404)
    del expected["http.route"]
    assert dict(server.attributes) == expected


def test_a_second_app_in_the_process_is_instrumented_once_without_a_warning(make_app, spans, caplog):
    for app in (make_app(), make_app()):
        assert app.test_client().get("/api/activities/home").status_code == 200
    assert [span.name for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER] == [
        "GET /api/activities/home"] * 2
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_log_lines_are_json_with_the_requests_trace_id(client, json_lines):
    response = client.get("/api/activities/home?page=1&token=abc")
    trace_id = response.headers["X-Trace-Id"]
    logging.getLogger("opentelemetry.sdk.some_part").warning("the SDK says %s", "x" * 5000)
    home, access, sdk = [line for line in json_lines() if line["logger"] != "cruddur.store"]
    assert home == {"level": "INFO", "logger": "cruddur.services.home_activities", "message": "HomeActivities",
                    "trace_id": trace_id, "time": home["time"]}
    assert access == {"level": "INFO", "logger": "cruddur.access",
                      "message": "GET /api/activities/home?page=1&token=REDACTED 200", "remote_addr": "127.0.0.1",
                      "method": "GET", "scheme": "http", "path": "/api/activities/home?page=1&token=REDACTED",
                      "status": 200, "duration_ms": access["duration_ms"], "trace_id": trace_id, "time": access["time"]}
    assert access["duration_ms"] > 0 and access["time"].endswith("+00:00")
    assert (sdk["logger"], sdk["level"], sdk["trace_id"], len(sdk["message"])) == (
        "opentelemetry.sdk.some_part", "WARNING", None, 2049)


def test_an_sdks_failures_are_told_once_per_interval_with_how_many_were_held_back():
    limit = logs.RateLimit(seconds=60)
    records = [logging.LogRecord("sdk", logging.ERROR, __file__, 1, "export failed: %s", ("refused",), None)
               for _ in range(3)]
    assert [limit.filter(record) for record in records] == [True, False, False]
    limit.times[0] -= 61  # the interval has passed
    assert limit.filter(records[0]) and records[0].getMessage() == "export failed: refused (2 more like this held back)"


def test_a_log_call_that_cannot_be_formatted_never_raises_in_its_caller(capsys):
    """As the logging module has it: the handler reports the bad record (handleError), and the
    code that logged it (a request, an SDK's thread) goes on. Called on a handler of Cruddur's
    own: pytest's capture handler raises instead."""
    console = logging.StreamHandler(io.StringIO())
    console.setFormatter(logs.JsonLines())
    console.handle(logging.LogRecord("cruddur.test", logging.WARNING, __file__, 1, "%s and %s", ("one",), None))
    assert "TypeError: not enough arguments for format string" in capsys.readouterr().err
    limit = logs.RateLimit(seconds=60)
    records = [logging.LogRecord("sdk", logging.ERROR, __file__, 1, "%s and %s", ("one",), None) for _ in range(2)]
    assert [limit.filter(record) for record in records] == [True, False]
    limit.times[0] -= 61
    assert limit.filter(records[0]) and records[0].msg == "%s and %s (1 more like this held back)"


def test_the_console_line_is_one_line_per_span(client, spans):
    client.get("/api/activities/home")
    server = finished(spans)["GET /api/activities/home"]
    line = one_line(server)
    assert line.count("\n") == 1 and line.startswith(
        f"span GET /api/activities/home kind=SERVER trace_id={trace.format_trace_id(server.context.trace_id)} "
        f"span_id={trace.format_span_id(server.context.span_id)} parent_id=- duration_ms=")
    assert json.loads(line.split(" status=UNSET ", 1)[1]) == dict(server.attributes)


@pytest.fixture(scope="module")
def receiver():
    with OtlpReceiver() as peer:
        yield peer


@pytest.fixture(scope="module")
def honeycomb(receiver):
    """Two workers sending to Honeycomb's stand-in, as `docker compose up` with a key does."""
    endpoint = receiver.url.replace("http://", "http://cruddur:pa55word@")
    with Gunicorn({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50",
                   "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}"}, workers=2) as server:
        yield server


@pytest.mark.live
def test_spans_reach_honeycomb_over_otlp_with_its_key_and_a_resource_per_worker(honeycomb, receiver):
    trace_ids = {requests.get(f"{honeycomb.url}/api/activities/home", timeout=5).headers["X-Trace-Id"]
                 for _ in range(8)}
    spans = receiver.wait_for(lambda spans: {span["trace_id"] for span in spans if span["kind"] == "SERVER"}
                              >= trace_ids)
    assert {request["headers"]["x-honeycomb-team"] for request in receiver.requests} == {HONEYCOMB_KEY}
    assert {request["headers"]["content-type"] for request in receiver.requests} == {"application/x-protobuf"}
    assert {span["resource"]["service.name"] for span in spans} == {"backend-flask"}
    pids = {span["resource"]["process.pid"] for span in spans}
    assert 1 <= len(pids) <= 2 and honeycomb.process.pid not in pids  # the workers', told apart
    assert "X-Trace-Id" in requests.get(f"{honeycomb.url}/api/activities/home", timeout=5).headers


@pytest.mark.live
def test_the_startup_line_names_header_keys_never_values_and_redacts_credentials(honeycomb, receiver):
    health = requests.get(f"{honeycomb.url}/api/health", timeout=5).json()
    assert health == {"status": "ok", "integrations": {
        "opentelemetry": "on", "xray": "off", "cloudwatch": "off", "rollbar": "off", "metrics": "on"}}
    output = honeycomb.read_output()
    assert startup_detail(output, "opentelemetry") == (
        f"on: spans as backend-flask to OTLP/HTTP to http://REDACTED@{receiver.url.removeprefix('http://')}"
        "/v1/traces with headers x-honeycomb-team")
    assert HONEYCOMB_KEY not in output and "pa55word" not in output


@pytest.mark.live
def test_with_no_account_spans_and_log_lines_show_on_the_console():
    with Gunicorn({"OTEL_BSP_SCHEDULE_DELAY": "50"}, workers=1) as server:
        trace_id = requests.get(f"{server.url}/api/activities/home", timeout=5).headers["X-Trace-Id"]
    lines = server.output.splitlines()
    assert startup_detail(server.output, "opentelemetry") == (
        "on: spans as backend-flask to the console: set OTEL_EXPORTER_OTLP_ENDPOINT to send them to Honeycomb")
    spans = [line for line in lines if line.startswith("span ") and f"trace_id={trace_id}" in line]
    assert [line.split(" kind=")[0] for line in spans if "kind=CLIENT" not in line] == [
        "span home-activites-mock-data", "span GET /api/activities/home"]
    access = [json.loads(line) for line in lines if '"cruddur.access"' in line and "/api/activities/home" in line]
    assert [line["trace_id"] for line in access] == [trace_id]


@pytest.mark.live
def test_the_users_otel_variables_win_over_cruddurs_defaults(receiver):
    """Each default Cruddur sets yields to the variable the user sets: the propagators, the HTTP
    conventions, the excluded URLs, the service name; and a name no exporter has is one clear line."""
    with Gunicorn({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
                   "OTEL_TRACES_EXPORTER": "otlp,zipkin", "OTEL_PROPAGATORS": "tracecontext,baggage",
                   "OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup",
                   "OTEL_PYTHON_FLASK_EXCLUDED_URLS": "activities/notifications",
                   "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=bootcamp,service.name=cruddur-api"},
                  workers=1) as server:
        search = requests.get(f"{server.url}/api/activities/search?term=x&session_key=s3cr3t",
                              headers={"X-Amzn-Trace-Id": XRAY_CALLER}, timeout=5)
        assert "X-Trace-Id" not in requests.get(f"{server.url}/api/activities/notifications", timeout=5).headers
        health = requests.get(f"{server.url}/api/health", timeout=5).headers["X-Trace-Id"]
        spans = receiver.wait_for(lambda spans: {search.headers["X-Trace-Id"], health} <= {
            span["trace_id"] for span in spans if span["kind"] == "SERVER"})
    (found,) = [span for span in spans if span["trace_id"] == search.headers["X-Trace-Id"] and span["kind"] == "SERVER"]
    assert found["trace_id"] != "5759e988bd862e3fe1be46a994272793"  # the X-Ray header is not read
    attributes = found["attributes"]
    assert (attributes["http.method"], attributes["http.request.method"]) == ("GET", "GET")
    assert attributes["url.query"] == "term=x&session_key=REDACTED"
    assert attributes["http.target"] == "/api/activities/search?term=x&session_key=REDACTED"
    assert (found["resource"]["service.name"], found["resource"]["deployment.environment.name"]) == (
        "cruddur-api", "bootcamp")
    assert "s3cr3t" not in json.dumps(spans)
    errors = [json.loads(line) for line in server.output.splitlines() if '"ERROR"' in line]
    assert [line["message"] for line in errors] == [
        "opentelemetry: OTEL_TRACES_EXPORTER: no exporter named 'zipkin' (use otlp, console or none)"]


@pytest.mark.live
def test_otel_sdk_disabled_traces_nothing_and_still_answers_with_its_access_line():
    with OtlpReceiver() as receiver, Gunicorn({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}, workers=1) as server:
        response = requests.get(f"{server.url}/api/activities/home", headers={"traceparent": TRACEPARENT}, timeout=5)
        health = requests.get(f"{server.url}/api/health", timeout=5).json()
    assert response.status_code == 200 and "X-Trace-Id" not in response.headers
    assert health["integrations"]["opentelemetry"] == "off"
    assert receiver.requests == []
    assert startup_detail(server.output, "opentelemetry") == "off: OTEL_SDK_DISABLED is true: nothing is traced"
    access = [json.loads(line) for line in server.output.splitlines() if '"cruddur.access"' in line]
    assert [line["trace_id"] for line in access if line["path"] == "/api/activities/home"] == [None]


@pytest.mark.live
def test_an_unknown_user_handle_stops_start_up_with_one_line_and_no_retry():
    server = Gunicorn({"CRUDDUR_USER_HANDLE": "nobody"}, workers=2)
    with pytest.raises(RuntimeError, match="gunicorn exited early") as exited:
        server.start(timeout=20)
    output = str(exited.value)
    lines = [line for line in output.splitlines() if "CRUDDUR_USER_HANDLE" in line]
    assert lines and set(lines) == {"cruddur: CRUDDUR_USER_HANDLE is 'nobody', which is no user: "
                                    "use one of andrewbrown, worf, garek, coco"}
    assert "Traceback" not in output
