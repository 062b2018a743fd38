"""Metrics, as OpenTelemetry's metrics quick-start sets them up: one meter provider per process, set
as the global, a periodic reader per exporter. The instrumentations record with it: Flask's
http.server.request.duration (a histogram whose exemplars name a trace) and http.server.active_requests;
Cruddur reads the store's pool as db.client.connection.count. The SDK reads its own variables (OTEL_METRIC_EXPORT_INTERVAL,
OTEL_EXPORTER_OTLP_METRICS_*, OTEL_METRICS_EXEMPLAR_FILTER); Cruddur sets defaults only where none is set:
a service.instance.id per worker, so workers' series stay apart, and one line per instrument on the
console when no endpoint is set. CloudWatch gets them in the embedded metric format (EMF): a log event
per data point, beside the watchtower route's lines on its client, so no other permission."""
import contextlib
import json
import logging
import os
import sys
import uuid

import watchtower
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, ObservableCounter
from opentelemetry.sdk.metrics.export import (AggregationTemporality, ConsoleMetricExporter, HistogramDataPoint,
                                              Metric, MetricExporter, MetricExportResult, MetricsData,
                                              PeriodicExportingMetricReader)
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource

from cruddur.config import Settings
from cruddur.observability import cloudwatch
from cruddur.observability.redact import redact_url
from cruddur.store import EXTENSION as STORE, Store

# OpenTelemetry's units (UCUM) as CloudWatch names them; a count such as {request} is None.
CLOUDWATCH_UNITS = {"s": "Seconds", "ms": "Milliseconds", "us": "Microseconds", "By": "Bytes"}
# CloudWatch takes at most 30 dimensions a metric.
MAX_DIMENSIONS = 30

emf_logger = logging.getLogger("cruddur.metrics.emf")


def data_points(metrics_data: MetricsData):
    for resource_metrics in metrics_data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                yield metric, metric.data.data_points


def fields(point) -> dict:
    """A data point's attributes and its value: count, sum, min and max for a histogram."""
    if isinstance(point, HistogramDataPoint):
        return {**point.attributes, "count": point.count, "sum": point.sum, "min": point.min, "max": point.max}
    return {**point.attributes, "value": point.value}


def one_line_each(metrics_data: MetricsData) -> str:
    """One readable console line per instrument instead of the SDK's multi-line JSON."""
    return "".join(f"metric {metric.name} unit={metric.unit or '-'} {type(metric.data).__name__.lower()} "
                   f"{json.dumps([fields(point) for point in points], default=str, ensure_ascii=False)}\n"
                   for metric, points in data_points(metrics_data))


class EmfExporter(MetricExporter):
    """Each data point as one EMF document, an event of its own in CloudWatch Logs: CloudWatch makes it a
    metric in `namespace` with the point's attributes as dimensions. Counters and histograms are deltas,
    so a document counts its own interval and CloudWatch adds the workers' up. `handler` (watchtower's)
    sends them from its thread, writing each document as it is (a mapping message is JSON to it)."""

    def __init__(self, namespace: str, handler: logging.Handler):
        delta = AggregationTemporality.DELTA
        super().__init__(preferred_temporality={Counter: delta, Histogram: delta, ObservableCounter: delta})
        self.namespace, self.handler = namespace, handler
        emf_logger.propagate = False  # the console has its own lines
        emf_logger.addHandler(handler)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        for metric, points in data_points(metrics_data):
            for point in points:
                if not isinstance(point, HistogramDataPoint) or point.count:  # an empty one has no min or max
                    emf_logger.info(self.document(metric, point))
        return MetricExportResult.SUCCESS

    def document(self, metric: Metric, point) -> dict:
        dimensions = {name: str(value) for name, value in point.attributes.items()}
        value = ({"Count": point.count, "Sum": point.sum, "Min": point.min, "Max": point.max}
                 if isinstance(point, HistogramDataPoint) else point.value)
        return {"_aws": {"Timestamp": point.time_unix_nano // 1_000_000, "CloudWatchMetrics": [{
            "Namespace": self.namespace, "Dimensions": [sorted(dimensions)[:MAX_DIMENSIONS]],
            "Metrics": [{"Name": metric.name, "Unit": CLOUDWATCH_UNITS.get(metric.unit, "None")}]}]},
            **dimensions, metric.name: value}

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True  # nothing held here: watchtower's queue is flushed by its close

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self.handler.close()  # after the provider's last export: watchtower sends it


def observe_pool(app: Flask) -> None:
    """The pool of `app`'s store (made after observability, so read at each collection)."""
    def connections(options: CallbackOptions):
        store: Store | None = app.extensions.get(STORE)
        if store is not None:
            name, pool = store.url.render_as_string(hide_password=True), store.pool
            for state, count in (("used", pool.checkedout()), ("idle", pool.checkedin())):
                yield Observation(count, {"db.client.connection.state": state, "db.client.connection.pool.name": name})

    metrics.get_meter(__name__).create_observable_up_down_counter(
        "db.client.connection.count", [connections], unit="{connection}",
        description="Connections in the pool, by state")


def emf_handler(settings: Settings) -> watchtower.CloudWatchLogHandler | None:
    """Beside the watchtower route's handler, on its client and in its group, a stream of the worker's
    own for its documents alone; None when that route is off."""
    logs_route = next((handler for handler in logging.getLogger().handlers
                       if isinstance(handler, watchtower.CloudWatchLogHandler)), None)
    if logs_route is None:
        return None
    group, stream, client = logs_route.log_group_name, f"{logs_route.log_stream_name}-metrics", logs_route.cwl_client
    # Made now: watchtower drops what is logged while its first send makes the stream.
    with contextlib.suppress(BotoCoreError, ClientError):
        client.create_log_stream(logGroupName=group, logStreamName=stream)
    return cloudwatch.bounded(watchtower.CloudWatchLogHandler(
        log_group_name=group, log_stream_name=stream, boto3_client=client, create_log_group=False,
        send_interval=settings.cloudwatch_send_interval_s), settings)


def init_app(app: Flask, settings: Settings, first_app: bool) -> tuple[bool, str]:
    if settings.otel_sdk_disabled:
        return False, "OTEL_SDK_DISABLED is true: nothing is measured"
    exporters = {"otlp": OTLPMetricExporter,  # reads its endpoint, headers, timeout and temporality itself
                 "console": lambda: ConsoleMetricExporter(out=sys.stdout, formatter=one_line_each)}
    given = settings.otel_metrics_exporter or ("otlp" if settings.otlp_metrics_endpoint else "console")
    names = [name for name in dict.fromkeys(given.lower().replace(" ", "").split(",")) if name not in ("", "none")]
    namespace = trace.get_tracer_provider().resource.attributes[SERVICE_NAME]
    if first_app:
        if not (os.environ.get("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT") or os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")):
            os.environ["OTEL_EXPORTER_OTLP_METRICS_TIMEOUT"] = "3"  # as the spans': the exit's budget
        readers = [PeriodicExportingMetricReader(exporters[name]())  # reads OTEL_METRIC_EXPORT_INTERVAL itself
                   for name in names if name in exporters]
        for name in names:
            if name not in exporters:
                logging.getLogger(__name__).error(
                    "metrics: OTEL_METRICS_EXPORTER: no exporter named %r (use otlp, console or none)", name)
        if settings.cloudwatch_metrics and (handler := emf_handler(settings)):
            readers.append(PeriodicExportingMetricReader(EmfExporter(namespace, handler)))
        if readers:  # else the instrumentations' instruments stay the API's no-ops: nothing recorded
            # A worker's own id, unless OTEL_RESOURCE_ATTRIBUTES gives one: its series are its own.
            resource = Resource({SERVICE_INSTANCE_ID: str(uuid.uuid4())}).merge(trace.get_tracer_provider().resource)
            metrics.set_meter_provider(MeterProvider(metric_readers=readers, resource=resource))
            observe_pool(app)

    headers = (f" with headers {', '.join(settings.otlp_metrics_header_names)}"
               if settings.otlp_metrics_header_names else "")
    where = [f"OTLP/HTTP to {redact_url(settings.otlp_metrics_url)}{headers}" if name == "otlp" else "the console"
             for name in names if name in exporters]
    if emf_logger.handlers:
        where.append(f"CloudWatch (EMF in log group {emf_logger.handlers[0].log_group_name}, namespace {namespace})")
    if not where:
        return False, "OTEL_METRICS_EXPORTER is none, and CloudWatch's watchtower route is off: nothing is measured"
    return True, f"every {os.environ.get('OTEL_METRIC_EXPORT_INTERVAL') or 60000} ms to {' and '.join(where)}"
