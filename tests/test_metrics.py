"""Metrics: the console line and the EMF documents from the SDK's in-memory reader (in process), and
under gunicorn what reaches Honeycomb's stand-in (the OTLP receiver, decoding protobuf: a series per
worker, exemplars naming the request's trace) and CloudWatch through watchtower (moto)."""
import io
import json
import logging
from collections import defaultdict

import pytest
import requests
import watchtower
from opentelemetry.sdk.metrics import Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

from cruddur.config import Settings
from cruddur.observability.metrics import EmfExporter, one_line_each
from tests.conftest import startup_detail
from tests.peers.otlp import OtlpReceiver, last_points
from tests.processes import Gunicorn

HOME = "/api/activities/home"
DURATION = "http.server.request.duration"
HONEYCOMB_KEY = "hcaik_fake_metrics_5e2c"
DATASET = "backend-flask-metrics"
ROUTE = {"http.request.method": "GET", "http.route": HOME, "http.response.status_code": 200,
         "url.scheme": "http", "network.protocol.version": "1.1"}


def recorded(temporality=None):
    """A request's duration recorded twice and one in flight, read by the SDK's in-memory reader."""
    reader = InMemoryMetricReader(preferred_temporality=temporality or {})
    meter = MeterProvider(metric_readers=[reader], resource=Resource({"service.name": "t"})).get_meter("test")
    duration = meter.create_histogram(DURATION, unit="s")
    duration.record(0.25, ROUTE)
    duration.record(0.5, ROUTE)
    meter.create_up_down_counter("http.server.active_requests", unit="{request}").add(
        1, {"http.request.method": "GET", "url.scheme": "http"})
    return reader.get_metrics_data()


def test_the_console_has_one_line_per_instrument():
    assert one_line_each(recorded()) == (
        f'metric {DURATION} unit=s histogram [{json.dumps({**ROUTE, "count": 2, "sum": 0.75, "min": 0.25, "max": 0.5})}]\n'
        'metric http.server.active_requests unit={request} sum '
        '[{"http.request.method": "GET", "url.scheme": "http", "value": 1}]\n')


def test_each_data_point_is_an_emf_document_cloudwatch_makes_a_metric_of():
    delta = AggregationTemporality.DELTA
    data = recorded({Histogram: delta, UpDownCounter: AggregationTemporality.CUMULATIVE})
    (duration, active), = [scope.metrics for resource in data.resource_metrics for scope in resource.scope_metrics]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(watchtower.CloudWatchLogFormatter())  # as watchtower writes each event
    exporter = EmfExporter("backend-flask", handler)
    try:
        exporter.export(data)
    finally:
        exporter.shutdown()
        logging.getLogger("cruddur.metrics.emf").removeHandler(handler)
        logging.getLogger("cruddur.metrics.emf").propagate = True
    documents = [json.loads(line) for line in stream.getvalue().splitlines()]
    timestamp = duration.data.data_points[0].time_unix_nano // 1_000_000
    assert documents[0] == {"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [{
        "Namespace": "backend-flask", "Dimensions": [sorted(ROUTE)],
        "Metrics": [{"Name": DURATION, "Unit": "Seconds"}]}]},
        **{name: str(value) for name, value in ROUTE.items()}, DURATION: {"Count": 2, "Sum": 0.75, "Min": 0.25, "Max": 0.5}}
    assert documents[1] == {"_aws": {"Timestamp": active.data.data_points[0].time_unix_nano // 1_000_000,
                                     "CloudWatchMetrics": [{
        "Namespace": "backend-flask", "Dimensions": [["http.request.method", "url.scheme"]],
        "Metrics": [{"Name": "http.server.active_requests", "Unit": "None"}]}]},
        "http.request.method": "GET", "url.scheme": "http", "http.server.active_requests": 1}
    assert len(documents) == 2


def test_the_metrics_signals_own_variables_win():
    settings = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://api.honeycomb.io/",
                                  "OTEL_EXPORTER_OTLP_HEADERS": "x-honeycomb-team=k",
                                  "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "x-honeycomb-team=k,x-honeycomb-dataset=m"})
    assert (settings.otlp_metrics_url, settings.otlp_metrics_header_names, settings.otlp_header_names) == (
        "https://api.honeycomb.io/v1/metrics", ("x-honeycomb-dataset", "x-honeycomb-team"), ("x-honeycomb-team",))
    assert Settings.from_env({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/m"}).otlp_metrics_url == "http://c:4318/m"
    assert Settings.from_env({"CLOUDWATCH_METRICS": "false"}).cloudwatch_metrics is False


@pytest.mark.parametrize("env, detail", [
    ({"OTEL_METRICS_EXPORTER": "none"},
     "OTEL_METRICS_EXPORTER is none, and CloudWatch's watchtower route is off: nothing is measured"),
    ({"OTEL_SDK_DISABLED": "true"}, "OTEL_SDK_DISABLED is true: nothing is measured"),
])
def test_off_with_one_clear_reason(make_app, caplog, env, detail):
    client = make_app(env).test_client()
    assert client.get("/api/health").get_json()["integrations"]["metrics"] == "off"
    (line,) = [record for record in caplog.records if getattr(record, "integration", None) == "metrics"]
    assert (line.enabled, line.detail) == (False, detail)


@pytest.mark.live
def test_two_workers_send_a_series_each_with_route_method_and_status_and_exemplars_of_their_requests_traces():
    with OtlpReceiver() as receiver, Gunicorn({
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_METRIC_EXPORT_INTERVAL": "200", "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY},x-honeycomb-dataset={DATASET}"},
            workers=2) as server:
        trace_ids = set()
        # Until both workers have served (each span names its worker's pid), 200 requests at most.
        while len(trace_ids) < 200 and len({span["resource"]["process.pid"] for span in receiver.spans()}) < 2:
            trace_ids.add(requests.get(server.url + HOME, headers={"Connection": "close"}, timeout=5).headers["X-Trace-Id"])
            if len(trace_ids) % 10 == 0:
                receiver.wait_for(lambda spans: {s["trace_id"] for s in spans if s["kind"] == "SERVER"} >= trace_ids)
        spans = [span for span in receiver.wait_for(
            lambda spans: {s["trace_id"] for s in spans if s["kind"] == "SERVER"} >= trace_ids) if span["kind"] == "SERVER"]
        served = defaultdict(int)
        for span in spans:
            served[span["resource"]["process.pid"]] += 1
        assert len(served) == 2, "one worker served every request"
        points = receiver.wait_for_points(lambda points: sum(
            point["count"] for point in last_points(points, DURATION).values()) == len(trace_ids))
        series = last_points(points, DURATION)
        output = server.read_output()
    # Each worker's pool, read as it is: every connection back in it, none used.
    pools = last_points(points, "db.client.connection.count").values()
    assert sorted((point["attributes"]["db.client.connection.state"], point["value"] > 0) for point in pools) == [
        ("idle", True), ("idle", True), ("used", False), ("used", False)]
    assert {point["attributes"]["db.client.connection.pool.name"] for point in pools} == {server.env["DATABASE_URL"]}
    # One series per worker, told apart by its resource, each counting that worker's requests.
    assert len(series) == 2
    for point in series.values():
        assert point["attributes"] == ROUTE
        assert {key: point["resource"][key] for key in ("service.name", "process.pid")} == {
            "service.name": "backend-flask", "process.pid": point["resource"]["process.pid"]}
        assert point["count"] == served[point["resource"]["process.pid"]] == sum(point["bucket_counts"])
        assert (point["kind"], point["unit"], len(point["bucket_counts"])) == ("histogram", "s", 15)
    assert len({point["resource"]["service.instance.id"] for point in series.values()}) == 2
    # Each worker's exemplars (an interval with no request has none) name requests it served: the
    # trace and the span of the same request's SERVER span.
    by_trace = {span["trace_id"]: (span["span_id"], span["resource"]["process.pid"]) for span in spans}
    for instance, _ in series:
        exemplars = [exemplar for point in points if point["name"] == DURATION
                     and point["resource"]["service.instance.id"] == instance for exemplar in point["exemplars"]]
        assert exemplars, "a worker's latency points carried no exemplar"
        pids = {by_trace[exemplar["trace_id"]][1] for exemplar in exemplars}
        assert [by_trace[exemplar["trace_id"]][0] for exemplar in exemplars] == [
            exemplar["span_id"] for exemplar in exemplars] and len(pids) == 1
    # The dataset header goes with the metrics alone.
    metric_exports = [request["headers"] for request in receiver.requests if "point_count" in request]
    span_exports = [request["headers"] for request in receiver.requests if "span_count" in request]
    assert {headers["x-honeycomb-dataset"] for headers in metric_exports} == {DATASET}
    assert not [headers for headers in span_exports if "x-honeycomb-dataset" in headers]
    assert startup_detail(output, "metrics") == (
        f"on: every 200 ms to OTLP/HTTP to {receiver.url}/v1/metrics with headers x-honeycomb-dataset, x-honeycomb-team")
    assert HONEYCOMB_KEY not in output


@pytest.mark.live
def test_with_no_account_metrics_show_on_the_console_and_sigterm_flushes_the_last_interval():
    with Gunicorn({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRIC_EXPORT_INTERVAL": "600000"}, workers=1) as server:
        for _ in range(3):
            assert requests.get(server.url + HOME, timeout=5).status_code == 200
    lines = [line for line in server.output.splitlines() if line.startswith("metric ")]
    # The pool is read from the store, as the conventions' count: the SQLAlchemy instrumentation's counter is off.
    assert sorted(line.split()[1] for line in lines) == [
        "db.client.connection.count", "http.server.active_requests", DURATION]
    (duration,) = [line for line in lines if line.startswith(f"metric {DURATION} ")]
    assert duration.startswith(f"metric {DURATION} unit=s histogram [")
    (point,) = json.loads(duration.split(" histogram ", 1)[1])
    assert {name: point[name] for name in (*ROUTE, "count")} == {**ROUTE, "count": 3}
    assert startup_detail(server.output, "metrics") == "on: every 600000 ms to the console"


@pytest.mark.live
def test_cloudwatch_gets_emf_documents_in_the_watchtower_routes_log_lines(aws_env, moto):
    with Gunicorn({"CLOUDWATCH_LOG_GROUP": "cruddur", "CLOUDWATCH_SEND_INTERVAL": "0.2",
                   "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}, workers=1) as server:
        for _ in range(4):
            assert requests.get(server.url + HOME, timeout=5).status_code == 200
    documents = [line for line in moto.lines("cruddur") if "_aws" in line]
    (duration,) = [document for document in documents if DURATION in document]
    assert duration["_aws"]["CloudWatchMetrics"] == [{
        "Namespace": "backend-flask", "Dimensions": [sorted(ROUTE)], "Metrics": [{"Name": DURATION, "Unit": "Seconds"}]}]
    assert {name: duration[name] for name in ROUTE} == {name: str(value) for name, value in ROUTE.items()}
    assert duration[DURATION]["Count"] == 4 and 0 < duration[DURATION]["Min"] <= duration[DURATION]["Max"]
    assert duration["stream"].endswith("-metrics")
    assert not [line for line in server.output.splitlines() if '"_aws"' in line]  # CloudWatch's alone
    assert startup_detail(server.output, "metrics") == (
        "on: every 60000 ms to CloudWatch (EMF in log group cruddur, namespace backend-flask)")
