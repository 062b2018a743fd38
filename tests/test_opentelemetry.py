"""OpenTelemetry, proven against an OTLP/HTTP receiver that decodes the protobuf."""
import pytest
import requests

from tests.peers.otlp import OtlpReceiver

HONEYCOMB_KEY = "hcaik_test_not_a_real_key_0123456789"
TRACEPARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACEPARENT_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def receiver():
    with OtlpReceiver() as peer:
        yield peer


@pytest.fixture
def traced_app(receiver, make_app):
    return make_app({
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}",
        "OTEL_SERVICE_NAME": "",  # empty means the default, backend-flask
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    })


def served(count):
    """Waits for `count` requests' SERVER spans: each ends after its children (DB spans, ...)."""
    return lambda spans: sum(span["kind"] == "SERVER" for span in spans) >= count


def by_name(spans, name):
    matching = [span for span in spans if span["name"] == name]
    assert len(matching) == 1, [span["name"] for span in spans]
    return matching[0]


def test_home_request_exports_server_span_and_custom_child(traced_app, receiver):
    response = traced_app.test_client().get("/api/activities/home")
    assert response.status_code == 200
    spans = receiver.wait_for(served(1))

    server = by_name(spans, "GET /api/activities/home")
    assert server["kind"] == "SERVER"
    assert server["service_name"] == "backend-flask"
    assert server["attributes"]["http.route"] == "/api/activities/home"
    assert server["attributes"]["http.status_code"] == 200
    assert server["trace_id"] == response.headers["X-Trace-Id"]

    custom = by_name(spans, "home-activites-mock-data")
    assert custom["kind"] == "INTERNAL"
    assert (custom["trace_id"], custom["parent_span_id"]) == (server["trace_id"], server["span_id"])
    assert custom["attributes"]["app.result_length"] == 3
    assert custom["attributes"]["app.now"].endswith("+00:00")
    assert all(r["headers"]["x-honeycomb-team"] == HONEYCOMB_KEY for r in receiver.requests)
    assert receiver.requests[0]["headers"]["content-type"] == "application/x-protobuf"


def test_trace_id_is_xray_compatible(traced_app, receiver):
    import time
    trace_id = traced_app.test_client().get("/api/activities/home").headers["X-Trace-Id"]
    # AWS's id generator puts the start time, in epoch seconds, in the first 8 hex digits.
    assert abs(int(trace_id[:8], 16) - time.time()) < 600


def test_user_and_feed_spans_carry_app_attributes(traced_app, receiver):
    client = traced_app.test_client()
    client.get("/api/activities/@worf")
    client.get("/api/messages/@worf")
    spans = receiver.wait_for(served(2))
    user = by_name(spans, "GET /api/activities/@<handle>")
    assert user["attributes"]["http.route"] == "/api/activities/@<handle>"
    assert (user["attributes"]["app.user_handle"], user["attributes"]["app.result_length"]) == ("worf", 1)
    conversation = by_name(spans, "GET /api/messages/@<handle>")
    assert conversation["attributes"]["app.receiver_handle"] == "worf"


def test_incoming_traceparent_continues_the_callers_trace(traced_app, receiver):
    response = traced_app.test_client().get("/api/activities/home", headers={"traceparent": TRACEPARENT})
    assert response.headers["X-Trace-Id"] == TRACEPARENT_TRACE
    spans = receiver.wait_for(served(1))
    server = by_name(spans, "GET /api/activities/home")
    assert (server["trace_id"], server["parent_span_id"]) == (TRACEPARENT_TRACE, "00f067aa0ba902b7")


def test_incoming_xray_header_continues_the_callers_trace(traced_app, receiver):
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    response = traced_app.test_client().get("/api/activities/home", headers={"X-Amzn-Trace-Id": header})
    assert response.headers["X-Trace-Id"] == "5759e988bd862e3fe1be46a994272793"


def test_outgoing_requests_call_is_a_client_span(traced_app, receiver):
    """requests is instrumented: a call made while serving is a CLIENT child of the SERVER span."""
    with OtlpReceiver() as other:
        def call_out():
            requests.get(f"{other.url}/elsewhere", timeout=5)
            return {"called": True}

        traced_app.add_url_rule("/api/test/call-out", view_func=call_out)
        assert traced_app.test_client().get("/api/test/call-out").status_code == 200
    spans = receiver.wait_for(lambda spans: any(s["kind"] == "CLIENT" for s in spans) and len(spans) >= 2)
    client_span = next(s for s in spans if s["kind"] == "CLIENT")
    server = by_name(spans, "GET /api/test/call-out")
    assert client_span["name"] == "GET"
    assert (client_span["trace_id"], client_span["parent_span_id"]) == (server["trace_id"], server["span_id"])
    assert client_span["attributes"]["http.url"].endswith("/elsewhere")


def test_health_is_not_traced(traced_app, receiver):
    client = traced_app.test_client()
    client.get("/api/health")
    notifications = client.get("/api/activities/notifications").headers["X-Trace-Id"]
    spans = receiver.wait_for(served(1))
    # The notifications' queries are its CLIENT spans; health has none.
    assert [s["name"] for s in spans if s["kind"] != "CLIENT"] == ["GET /api/activities/notifications"]
    assert {s["trace_id"] for s in spans} == {notifications}


def test_huge_search_term_does_not_make_a_huge_span(traced_app, receiver):
    traced_app.test_client().get("/api/activities/search", query_string={"term": "x" * 200})
    traced_app.test_client().get("/api/activities/search", query_string={"term": "y" * 100_000})
    spans = receiver.wait_for(served(2))
    for span in spans:
        assert all(len(str(value)) <= 1024 for value in span["attributes"].values())


def test_console_prints_one_line_per_span_by_default(make_app, capfd):
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_BSP_SCHEDULE_DELAY": "50"})
    trace_id = app.test_client().get("/api/activities/home").headers["X-Trace-Id"]
    app.extensions["cruddur.telemetry"].shutdown()
    # The home feed's queries print their CLIENT spans too (tests/test_store_tracing.py).
    span_lines = [line for line in capfd.readouterr().out.splitlines()
                  if line.startswith("span ") and "kind=CLIENT" not in line]
    assert len(span_lines) == 2
    assert any(line.startswith("span GET /api/activities/home kind=SERVER") for line in span_lines)
    assert any(line.startswith("span home-activites-mock-data kind=INTERNAL") for line in span_lines)
    assert all(f"trace_id={trace_id}" in line for line in span_lines)


def test_console_beside_otlp_only_when_asked(receiver, make_app, capfd):
    for exporters, expected in (("", 0), ("console", 2)):
        app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_TRACES_EXPORTER": exporters})
        app.test_client().get("/api/activities/home")
        app.extensions["cruddur.telemetry"].shutdown()
        span_lines = [line for line in capfd.readouterr().out.splitlines()
                      if line.startswith("span ") and "kind=CLIENT" not in line]
        assert len(span_lines) == expected


def test_status_names_header_keys_but_never_the_key(traced_app, capfd):
    health = traced_app.test_client().get("/api/health").get_json()["integrations"]["opentelemetry"]
    assert health["enabled"] is True
    assert "x-honeycomb-team" in health["detail"]
    assert HONEYCOMB_KEY not in str(health)
    traced_app.extensions["cruddur.telemetry"].shutdown()
    assert HONEYCOMB_KEY not in capfd.readouterr().out
