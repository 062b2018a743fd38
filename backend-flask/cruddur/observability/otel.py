"""OpenTelemetry: spans to Honeycomb over OTLP/HTTP, and readable lines on the console.

Trace ids come from AWS's X-Ray id generator, so the id Honeycomb shows is also a
valid X-Ray trace id; incoming `traceparent` and `X-Amzn-Trace-Id` headers both
continue the caller's trace.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
from functools import partial

from flask import Flask, current_app, request
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.propagate import set_global_textmap
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import PROCESS_PID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor, ConsoleSpanExporter, SpanExporter, SpanExportResult,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.util.re import parse_env_headers

from cruddur.config import Settings
from cruddur.observability import SENSITIVE_NAMES, TELEMETRY, OncePerInterval, Status, finished_within
from cruddur.observability.logs import redact_query

EXTENSION = "cruddur.tracer_provider"
TRACERS = "cruddur.tracers"
# Health checks every few seconds would drown the real traffic.
EXCLUDED_URLS = "/api/health"
MAX_ATTRIBUTE_CHARS = 1024
EXPORTER_LOG_INTERVAL_S = 60

logger = logging.getLogger(__name__)


# The exporter logs every failed batch, and the batch processor every span it drops when
# its queue is full: several a second while Honeycomb is down. The SDK also logs each
# attribute it truncates to MAX_ATTRIBUTE_CHARS: once per request a client makes with a
# huge URL. Each logger gets its own filter.
RATE_LIMITED_LOGGERS = {
    "opentelemetry.exporter.otlp.proto.http.trace_exporter": OncePerInterval(EXPORTER_LOG_INTERVAL_S),
    "opentelemetry.sdk._shared_internal": OncePerInterval(EXPORTER_LOG_INTERVAL_S),
    "opentelemetry.attributes": OncePerInterval(EXPORTER_LOG_INTERVAL_S),
}


class SpanCount(SpanProcessor):
    """Counts the spans this process ended, to tell at exit how many never reached an exporter."""

    def __init__(self) -> None:
        self.ended = 0
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.ended += 1


class CountingExporter(SpanExporter):
    """An exporter that counts the spans it delivered."""

    def __init__(self, exporter: SpanExporter):
        self.exporter = exporter
        self.delivered = 0

    def export(self, spans) -> SpanExportResult:
        result = self.exporter.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.delivered += len(spans)  # the batch processor exports under a lock, one batch at a time
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


# When OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_* asks spans to record headers, those
# with SENSITIVE_NAMES are recorded as [REDACTED], whatever is configured.
SANITIZE_FIELDS_VARIABLE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"


class Tracers(dict):
    """The tracers of one provider, by name, each made once: making one costs about what a span does."""

    def __init__(self, provider: TracerProvider):
        super().__init__()
        self.provider = provider

    def __missing__(self, name: str) -> trace.Tracer:
        self[name] = self.provider.get_tracer(name)
        return self[name]


def tracer(name: str) -> trace.Tracer:
    """A tracer from this app's provider (not a process global), for custom spans."""
    return current_app.extensions[TRACERS][name]


def name_unrouted_span(span: trace.Span, environ: dict) -> None:
    """A path that matches no route names its span by method alone, as the HTTP conventions say.

    The instrumentation would name it after the raw path: one name per URL, as long as the URL.
    """
    if span.is_recording() and request.url_rule is None:
        span.update_name(span.name.split(" ", 1)[0])


def sanitize_sensitive_headers() -> None:
    """Adds SENSITIVE_NAMES to the instrumentation's redaction list, which it reads from the
    environment at each request (it takes no argument for it)."""
    configured = [name.strip() for name in os.environ.get(SANITIZE_FIELDS_VARIABLE, "").split(",")]
    os.environ[SANITIZE_FIELDS_VARIABLE] = ",".join(dict.fromkeys(filter(None, [*configured, *SENSITIVE_NAMES])))


def one_line(span: ReadableSpan) -> str:
    """A span as one readable console line instead of the SDK's multi-line JSON."""
    parent = trace.format_span_id(span.parent.span_id) if span.parent else "-"
    duration_ms = (span.end_time - span.start_time) / 1e6
    attributes = json.dumps(dict(span.attributes), default=str, ensure_ascii=False)
    return (f"span {span.name} kind={span.kind.name} trace_id={trace.format_trace_id(span.context.trace_id)} "
            f"span_id={trace.format_span_id(span.context.span_id)} parent_id={parent} "
            f"duration_ms={duration_ms:.3f} status={span.status.status_code.name} {attributes}\n")


def exporters(settings: Settings) -> dict[str, partial[SpanExporter]]:
    """The exporters this configuration asks for, by name, not yet built.

    OTLP whenever an endpoint is set; the console when there is none (the local
    default, unless OTEL_TRACES_EXPORTER=none) or when OTEL_TRACES_EXPORTER names it.
    """
    wanted = settings.otel_traces_exporters
    chosen = {}
    if settings.otel_endpoint:
        chosen["otlp"] = partial(
            OTLPSpanExporter,
            endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces",
            headers=parse_env_headers(settings.otel_headers or "", liberal=True),
            timeout=settings.otel_export_timeout_ms / 1000,
        )
    if "console" in wanted or not (settings.otel_endpoint or "none" in wanted):
        chosen["console"] = partial(ConsoleSpanExporter, out=sys.stdout, formatter=one_line)
    return chosen


def init_app(app: Flask, settings: Settings) -> Status:
    provider = TracerProvider(
        # The pid tells gunicorn's workers apart (the app is built in each worker, after the fork).
        resource=Resource.create({SERVICE_NAME: settings.otel_service_name, PROCESS_PID: os.getpid()}),
        id_generator=AwsXRayIdGenerator(),
        span_limits=SpanLimits(max_span_attribute_length=MAX_ATTRIBUTE_CHARS),
        shutdown_on_exit=False,
    )
    app.extensions[EXTENSION] = provider
    app.extensions[TRACERS] = Tracers(provider)
    set_global_textmap(CompositePropagator([
        AwsXRayPropagator(), TraceContextTextMapPropagator(), W3CBaggagePropagator(),
    ]))
    sanitize_sensitive_headers()
    # enable_commenter=False: its sqlcommenter tags (a context attached per request) are for
    # SQL drivers, and Cruddur has none.
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS,
                                     request_hook=name_unrouted_span, enable_commenter=False)
    RequestsInstrumentor().instrument(tracer_provider=provider)

    @app.before_request
    def redact_query_secrets() -> None:
        # Runs after the instrumentation has put the URL on the request's span.
        span = trace.get_current_span()
        if request.query_string and span.is_recording():
            for name in ("http.target", "http.url"):
                if name in span.attributes:
                    span.set_attribute(name, redact_query(span.attributes[name]))

    chosen = exporters(settings)
    for name, rate_limit in RATE_LIMITED_LOGGERS.items():
        logging.getLogger(name).addFilter(rate_limit)  # added once: logging skips duplicates
    telemetry = app.extensions[TELEMETRY]
    span_count = SpanCount()
    counting: dict[str, CountingExporter] = {}

    def start() -> None:
        provider.add_span_processor(span_count)
        for name, make_exporter in chosen.items():
            counting[name] = CountingExporter(make_exporter())
            provider.add_span_processor(BatchSpanProcessor(
                counting[name],
                max_queue_size=settings.otel_max_queue_size,
                schedule_delay_millis=settings.otel_schedule_delay_ms,
                max_export_batch_size=settings.otel_max_export_batch_size,
                export_timeout_millis=settings.otel_export_timeout_ms,
            ))

    def shutdown(timeout_s: float) -> None:
        # Exports what is queued, batch after batch, each waiting up to the export timeout.
        finished_within(provider.shutdown, timeout_s, "otel-shutdown")
        for name, exporter in counting.items():
            missing = span_count.ended - exporter.delivered
            if missing:
                logger.warning("opentelemetry: %d of %d spans not delivered to %s (dropped or unsent at exit)",
                               missing, span_count.ended, name, extra={"fields": {
                                   "integration": "opentelemetry", "exporter": name,
                                   "not_delivered": missing, "ended": span_count.ended}})
        if RequestsInstrumentor().is_instrumented_by_opentelemetry:
            RequestsInstrumentor().uninstrument()

    telemetry.on_start(start)
    telemetry.on_shutdown(shutdown)

    if "otlp" in chosen:
        detail = f"OTLP/HTTP to {settings.otel_endpoint} as {settings.otel_service_name}"
        header_names = sorted(parse_env_headers(settings.otel_headers or "", liberal=True))
        if header_names:
            detail += f" with headers {', '.join(header_names)}"
        if "console" in chosen:
            detail += ", and spans on the console"
        return Status(True, detail)
    if "console" in chosen:
        return Status(True, "spans on the console only: set OTEL_EXPORTER_OTLP_ENDPOINT to send them to Honeycomb")
    return Status(True, "tracing in process, exporting nowhere (OTEL_TRACES_EXPORTER=none)")
