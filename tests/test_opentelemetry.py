"""OpenTelemetry, proven against an OTLP/HTTP receiver that decodes the protobuf."""
import json
import logging
import socket
import time

import pytest
import requests
from opentelemetry import trace

from tests.peers.otlp import OtlpReceiver
from tests.processes import Gunicorn, free_port

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
    assert server["attributes"]["http.response.status_code"] == 200
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
    spans = receiver.wait_for(served(1))
    client_span = next(s for s in spans if s["kind"] == "CLIENT" and s["name"] == "GET")
    server = by_name(spans, "GET /api/test/call-out")
    assert client_span["name"] == "GET"
    assert (client_span["trace_id"], client_span["parent_span_id"]) == (server["trace_id"], server["span_id"])
    assert client_span["attributes"]["url.full"].endswith("/elsewhere")


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


def console_span_lines(capfd) -> list[str]:
    return [line for line in capfd.readouterr().out.splitlines() if line.startswith("span ")]


@pytest.mark.parametrize(("exporters", "to_receiver", "to_console"), [
    ("", True, False),  # unset with an endpoint: OTLP only
    ("otlp", True, False),
    ("console", False, True),
    ("otlp,console", True, True),
    ("none", False, False),
])
def test_otel_traces_exporter_chooses_the_exporters(receiver, make_app, capfd, exporters, to_receiver, to_console):
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_TRACES_EXPORTER": exporters})
    assert app.test_client().get("/api/activities/home").status_code == 200
    app.extensions["cruddur.telemetry"].shutdown()
    assert bool(receiver.spans()) is to_receiver
    assert bool(console_span_lines(capfd)) is to_console


def test_signal_specific_variables_win_over_the_generic_ones(receiver, make_app):
    app = make_app({
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "OTEL_EXPORTER_OTLP_HEADERS": "x-honeycomb-team=generic",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.url}/v1/traces",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    })
    app.test_client().get("/api/activities/home")
    receiver.wait_for(served(1))
    assert {r["headers"]["x-honeycomb-team"] for r in receiver.requests} == {HONEYCOMB_KEY}
    assert {r["headers"].get("content-encoding") for r in receiver.requests} == {"gzip"}


def test_the_traces_endpoint_alone_turns_otlp_on(receiver, make_app):
    app = make_app({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.url}/v1/traces", "OTEL_BSP_SCHEDULE_DELAY": "50"})
    app.test_client().get("/api/activities/home")
    assert receiver.wait_for(served(1))


def test_batch_processor_reads_its_own_variables(receiver, make_app):
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1",
                    "OTEL_BSP_SCHEDULE_DELAY": "50"})
    client = app.test_client()
    for _ in range(2):
        client.get("/api/activities/home")
    receiver.wait_for(served(2))
    assert {r["span_count"] for r in receiver.requests} == {1}


@pytest.mark.parametrize(("sampler", "argument", "exported"), [
    ("always_off", "", False), ("traceidratio", "0", False), ("traceidratio", "1", True), ("always_on", "", True),
])
def test_sampler_follows_otel_traces_sampler(receiver, make_app, sampler, argument, exported):
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_TRACES_SAMPLER": sampler,
                    "OTEL_TRACES_SAMPLER_ARG": argument})
    response = app.test_client().get("/api/activities/home")
    app.extensions["cruddur.telemetry"].shutdown()
    assert bool(receiver.spans()) is exported
    assert response.headers["X-Trace-Id"]  # the trace exists whether or not it is sampled


def test_resource_attributes_are_merged_and_service_name_defaults_only_when_unset(receiver, make_app):
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "",
                    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=bootcamp,service.name=cruddur-api"})
    app.test_client().get("/api/activities/home")
    app.extensions["cruddur.telemetry"].shutdown()
    resource = receiver.spans()[0]["resource"]
    assert (resource["service.name"], resource["deployment.environment.name"]) == ("cruddur-api", "bootcamp")


def test_sdk_disabled_costs_no_tracing_and_still_answers_with_its_access_line(receiver, make_app, capfd):
    app = make_app({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    app.add_url_rule("/api/test/span", view_func=lambda: {"valid": trace.get_current_span().get_span_context().is_valid})
    client = app.test_client()
    response = client.get("/api/activities/home", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200 and "X-Trace-Id" not in response.headers
    assert client.get("/api/test/span").get_json() == {"valid": False}
    assert client.get("/api/health").get_json()["integrations"]["opentelemetry"] == "off"
    app.extensions["cruddur.telemetry"].shutdown()
    assert receiver.spans() == []
    access = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"cruddur.access"' in line]
    assert [line["path"] for line in access] == ["/api/activities/home", "/api/test/span", "/api/health"]


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("OTEL_TRACES_EXPORTER", "otlp,zipkin", "OTEL_TRACES_EXPORTER: no exporter named 'zipkin'"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "-5", "otlp exporter not started, check OTEL_BSP_*: max_queue_size must be a positive"),
    ("OTEL_BSP_SCHEDULE_DELAY", "soon", "Unable to parse value for OTEL_BSP_SCHEDULE_DELAY as integer. Defaulting to"),
])
def test_a_malformed_value_is_one_clear_line_and_the_app_still_serves(receiver, make_app, capfd, variable, value,
                                                                      says):
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, variable: value})
    assert app.test_client().get("/api/activities/home").status_code == 200
    app.extensions["cruddur.telemetry"].shutdown()
    errors = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"ERROR"' in line]
    assert len(errors) == 1 and says in errors[0]["message"] and "exception" not in errors[0]


def test_spans_carry_the_stable_http_attributes_with_the_query_redacted(traced_app, receiver):
    traced_app.test_client().get("/api/activities/search?term=cloud&api_token=s3cr3t",
                                 headers={"User-Agent": "cruddur-test"})
    server = by_name(receiver.wait_for(served(1)), "GET /api/activities/search")
    attributes = server["attributes"]
    assert {name: attributes[name] for name in (
        "http.request.method", "url.path", "url.query", "url.scheme", "http.response.status_code", "http.route",
        "server.address", "client.address", "user_agent.original", "network.protocol.version")} == {
        "http.request.method": "GET", "url.path": "/api/activities/search",
        "url.query": "term=cloud&api_token=REDACTED", "url.scheme": "http", "http.response.status_code": 200,
        "http.route": "/api/activities/search", "server.address": "localhost", "client.address": "127.0.0.1",
        "user_agent.original": "cruddur-test", "network.protocol.version": "1.1"}
    assert not {"http.method", "http.target", "http.status_code"} & set(attributes)
    assert "s3cr3t" not in json.dumps(receiver.spans())


def test_a_query_that_mentions_the_health_path_is_traced(traced_app, receiver):
    client = traced_app.test_client()
    assert "X-Trace-Id" not in client.get("/api/health?probe=1").headers
    response = client.get("/api/activities/home?x=/api/health")
    assert response.headers["X-Trace-Id"]
    spans = receiver.wait_for(served(1))
    assert {s["name"] for s in spans if s["kind"] != "CLIENT"} == {"GET /api/activities/home", "home-activites-mock-data"}
    assert {s["trace_id"] for s in spans} == {response.headers["X-Trace-Id"]}


def test_a_second_app_in_the_process_instruments_without_warnings(make_app, caplog):
    make_app()
    second = make_app()
    assert second.test_client().get("/api/activities/home").status_code == 200
    assert "already instrumented" not in caplog.text


def test_startup_line_names_header_keys_redacts_credentials_and_health_says_on_or_off(receiver, make_app, capfd):
    endpoint = receiver.url.replace("http://", "http://cruddur:pa55word@")
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}"})
    health = app.test_client().get("/api/health")
    assert health.get_json() == {"status": "ok", "integrations": {
        "opentelemetry": "on", "xray": "off", "cloudwatch": "off", "rollbar": "off"}}
    app.extensions["cruddur.telemetry"].shutdown()
    (line,) = [json.loads(line) for line in capfd.readouterr().out.splitlines() if "opentelemetry: on" in line]
    assert line["message"] == (f"opentelemetry: on (spans as backend-flask to OTLP/HTTP to "
                               f"http://REDACTED@{receiver.url.removeprefix('http://')}/v1/traces "
                               "with headers x-honeycomb-team)")
    assert HONEYCOMB_KEY not in str(line) and "pa55word" not in str(line)


def test_the_traces_timeout_bounds_an_export_to_a_hanging_endpoint(make_app):
    with socket.create_server(("127.0.0.1", 0)) as hanging:  # accepts, never answers
        app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hanging.getsockname()[1]}",
                        "OTEL_EXPORTER_OTLP_TIMEOUT": "30", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1"})
        app.test_client().get("/api/activities/home")
        started = time.monotonic()
        app.extensions["cruddur.telemetry"].shutdown()
        # One export, given up after the traces timeout: not the generic 30 s, not the 7 s deadline.
        assert time.monotonic() - started < 4


def test_sdk_log_records_leave_through_the_json_handler(make_app, capfd):
    app = make_app()
    app.test_client().get("/api/activities/home")
    logging.getLogger("opentelemetry.sdk.some_part").warning("the SDK says %s", "hello")
    app.extensions["cruddur.telemetry"].shutdown()
    out, err = capfd.readouterr()
    (line,) = [json.loads(line) for line in out.splitlines() if "the SDK says" in line]
    assert (line["logger"], line["level"], line["message"]) == ("opentelemetry.sdk.some_part", "WARNING",
                                                                 "the SDK says hello")
    assert "the SDK says" not in err


def test_a_worker_that_served_nothing_shuts_down_cleanly(make_app, capfd):
    make_app().extensions["cruddur.telemetry"].shutdown()
    out, err = capfd.readouterr()
    assert "shutdown step failed" not in out + err and "Traceback" not in out + err


def gunicorn_server_span(env: dict, headers: dict | None = None) -> tuple[dict, requests.Response]:
    with OtlpReceiver() as receiver:
        with Gunicorn({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **env}, workers=1) as server:
            response = requests.get(f"{server.url}/api/activities/search?term=x&session_key=s3cr3t",
                                    headers=headers or {}, timeout=5)
        return by_name(receiver.spans(), "GET /api/activities/search"), response


@pytest.mark.live
def test_semconv_opt_in_http_dup_gives_both_names_both_redacted():
    server, _ = gunicorn_server_span({"OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup"})
    attributes = server["attributes"]
    assert (attributes["http.method"], attributes["http.request.method"]) == ("GET", "GET")
    assert attributes["url.query"] == "term=x&session_key=REDACTED"
    assert attributes["http.target"] == "/api/activities/search?term=x&session_key=REDACTED"
    assert "s3cr3t" not in json.dumps(server)


@pytest.mark.live
@pytest.mark.parametrize(("propagators", "continued"), [("", True), ("tracecontext,baggage", False)])
def test_otel_propagators_chooses_which_headers_continue_a_trace(propagators, continued):
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    server, response = gunicorn_server_span({"OTEL_PROPAGATORS": propagators}, {"X-Amzn-Trace-Id": header})
    assert (server["trace_id"] == "5759e988bd862e3fe1be46a994272793") is continued
    assert response.headers["X-Trace-Id"] == server["trace_id"]


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


def test_otel_python_flask_excluded_urls_replaces_the_health_check_default(receiver, make_app):
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
                    "OTEL_PYTHON_FLASK_EXCLUDED_URLS": "activities/notifications"})
    client = app.test_client()
    assert "X-Trace-Id" not in client.get("/api/activities/notifications").headers
    health = client.get("/api/health").headers["X-Trace-Id"]
    spans = receiver.wait_for(served(1))
    assert [s["name"] for s in spans if s["kind"] == "SERVER"] == ["GET /api/health"]
    # The excluded request's queries make no traces of their own.
    assert {s["trace_id"] for s in spans} == {health}
