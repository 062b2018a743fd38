"""OpenTelemetry, the spine: every request's span and trace id, configured the SDK's own way.

The SDK and the instrumentations read their own variables (OTLP, `OTEL_BSP_*`, sampler,
resource, header capture). Cruddur sets defaults only where the user set nothing: its
service name, the X-Ray propagator and id generator (so one trace id is valid in Honeycomb
and X-Ray), the stable HTTP conventions, no health check, console spans without an endpoint.
"""

import contextlib
import functools
import json
import logging
import os
import sys
import threading

from flask import Flask, current_app, g, has_app_context, request
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.propagate import set_global_textmap
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import PROCESS_PID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from cruddur.config import Settings
from cruddur.observability.logs import rate_limit
from cruddur.observability.redact import SECRET_NAMES, redact_query, redact_url
from cruddur.observability.lifecycle import CountingExporter, Status, finished_within, tell_undelivered

PROVIDER = "cruddur.tracer_provider"
# More destinations may join (X-Ray's OTLP endpoint): each is started, flushed and counted alike.
EXPORTERS = "cruddur.span_exporters"
DEFAULT_SERVICE_NAME = "backend-flask"
# Only the health check's own path, whatever its query; the instrumentation searches the whole URL.
HEALTH_CHECK_URL = r"^[a-z]+://[^/]+/api/health(\?|$)"
MAX_ATTRIBUTE_CHARS = 1024
SANITIZE_FIELDS_VARIABLE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"

logger = logging.getLogger(__name__)


class AppTracer(trace.Tracer):
    """A tracer that makes its spans with the provider of the app in context (none outside one)."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.tracers = {None: trace.NoOpTracer()}  # by provider: making one costs about what a span does

    def _tracer(self) -> trace.Tracer:
        provider = current_app.extensions.get(PROVIDER) if has_app_context() else None
        if provider not in self.tracers:
            self.tracers[provider] = provider.get_tracer(*self.args, **self.kwargs)
        return self.tracers[provider]

    def start_span(self, *args, **kwargs):
        return self._tracer().start_span(*args, **kwargs)

    def start_as_current_span(self, *args, **kwargs):
        return self._tracer().start_as_current_span(*args, **kwargs)


class AppTracerProvider(trace.TracerProvider):
    """The global provider, so a module-level `trace.get_tracer(...)` works with a provider per app."""

    def get_tracer(self, *args, **kwargs) -> trace.Tracer:
        return AppTracer(*args, **kwargs)


@functools.cache
def set_process_defaults() -> None:
    """Process-wide state, set once whatever the number of apps: globals and unset SDK variables."""
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    # Header capture, when the user turns it on, never records a secret header's value.
    configured = [name.strip() for name in os.environ.get(SANITIZE_FIELDS_VARIABLE, "").split(",")]
    os.environ[SANITIZE_FIELDS_VARIABLE] = ",".join(dict.fromkeys(filter(None, [*configured, *SECRET_NAMES])))
    if not os.environ.get("OTEL_PROPAGATORS"):
        set_global_textmap(CompositePropagator([AwsXRayPropagator(), TraceContextTextMapPropagator(),
                                                W3CBaggagePropagator()]))
    trace.set_tracer_provider(AppTracerProvider())
    RequestsInstrumentor().instrument()
    # Several a second while Honeycomb is down: failed batches, dropped spans, truncated attributes.
    rate_limit("opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry.sdk._shared_internal",
               "opentelemetry.attributes", "opentelemetry.sdk.trace.export")


class SpanCount(SpanProcessor):
    """Counts the spans this process ended, to tell at exit how many never reached an exporter."""

    def __init__(self) -> None:
        self.ended, self._lock = 0, threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.ended += 1


def one_line(span: ReadableSpan) -> str:
    """A span as one readable console line instead of the SDK's multi-line JSON."""
    parent = trace.format_span_id(span.parent.span_id) if span.parent else "-"
    duration_ms = (span.end_time - span.start_time) / 1e6
    attributes = json.dumps(dict(span.attributes), default=str, ensure_ascii=False)
    return (f"span {span.name} kind={span.kind.name} trace_id={trace.format_trace_id(span.context.trace_id)} "
            f"span_id={trace.format_span_id(span.context.span_id)} parent_id={parent} "
            f"duration_ms={duration_ms:.3f} status={span.status.status_code.name} {attributes}\n")


EXPORTER_FACTORIES = {
    "otlp": OTLPSpanExporter,  # reads its endpoint, headers, timeout and compression itself
    "console": lambda: ConsoleSpanExporter(out=sys.stdout, formatter=one_line),
}


def exporter_names(settings: Settings) -> list[str]:
    """The exporters OTEL_TRACES_EXPORTER names (unset: `otlp` with an OTLP endpoint, else `console`);
    a name no exporter has gets an error line."""
    given = settings.otel_traces_exporter or ("otlp" if settings.otlp_traces_endpoint else "console")
    names = list(dict.fromkeys(name.strip().lower() for name in given.split(",") if name.strip()))
    for name in names:
        if name not in EXPORTER_FACTORIES and name != "none":
            logger.error("opentelemetry: OTEL_TRACES_EXPORTER: no exporter named %r (use otlp, console or none)", name)
    return [name for name in names if name in EXPORTER_FACTORIES]


def name_unrouted_span(span: trace.Span, environ: dict) -> None:
    """An unrouted path's span is named by its method alone, as the HTTP conventions say."""
    if span.is_recording() and request.url_rule is None:
        span.update_name(span.name.split(" ", 1)[0])


def for_the_request(scope) -> None:
    """Enters the context manager `scope` until the request's teardown."""
    g.setdefault("scopes", contextlib.ExitStack()).enter_context(scope)


def end_request_scopes(exception) -> None:
    if "scopes" in g:
        g.pop("scopes").close()


def tend_request_span() -> None:
    """An excluded request's queries and calls make no spans either (each would be a lone trace).
    A traced one's URL attributes, stable and old names, lose their secret query values (the
    instrumentation sets them after its request_hook runs)."""
    span = trace.get_current_span()
    if not span.get_span_context().is_valid:
        for_the_request(suppress_instrumentation())
    elif request.query_string and span.is_recording():
        for name, redact in (("url.query", redact_query), ("http.target", redact_url), ("http.url", redact_url)):
            if name in span.attributes:
                span.set_attribute(name, redact(span.attributes[name]))


def make_resource() -> Resource:
    """The process's resource, for its spans and its OTLP log records alike."""
    resource = Resource.create({PROCESS_PID: os.getpid()})  # the pid tells gunicorn's workers apart
    if resource.attributes[SERVICE_NAME].startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def init_app(app: Flask, settings: Settings, telemetry) -> Status:
    if settings.otel_sdk_disabled:
        return Status(False, "OTEL_SDK_DISABLED is true: nothing is traced")
    set_process_defaults()
    resource = make_resource()
    provider = app.extensions[PROVIDER] = TracerProvider(
        resource=resource, id_generator=AwsXRayIdGenerator(), shutdown_on_exit=False,
        span_limits=SpanLimits(max_span_attribute_length=MAX_ATTRIBUTE_CHARS))
    # enable_commenter=False: sqlcommenter context, attached per request, is for SQL drivers.
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider, request_hook=name_unrouted_span,
                                       excluded_urls=settings.otel_flask_excluded_urls or HEALTH_CHECK_URL,
                                       enable_commenter=False)
    # Right after the instrumentation's own hooks, which set the request's span (and its URL).
    app.before_request(tend_request_span)
    app.teardown_request(end_request_scopes)

    span_count = SpanCount()
    provider.add_span_processor(span_count)
    exporters = app.extensions[EXPORTERS] = {name: CountingExporter(EXPORTER_FACTORIES[name]())
                                             for name in exporter_names(settings)}

    def start() -> None:
        for name, exporter in exporters.items():
            try:
                provider.add_span_processor(BatchSpanProcessor(exporter))  # reads OTEL_BSP_* itself
            except ValueError as error:  # a malformed OTEL_BSP_* value
                logger.error("opentelemetry: %s exporter not started, check OTEL_BSP_*: %s", name, error)

    def shutdown(timeout_s: float) -> None:
        # Exports what is queued, batch after batch, each waiting up to the export timeout.
        finished_within(provider.shutdown, timeout_s, "otel-shutdown")
        for name, exporter in exporters.items():
            tell_undelivered("opentelemetry", span_count.ended - exporter.delivered, span_count.ended, "spans",
                             f" to {name} (dropped or unsent at exit)", exporter=name)

    telemetry.starters.append(start)
    telemetry.stoppers.append(shutdown)
    where = [f"OTLP/HTTP to {traces_destination(settings)}"
             + (f" with headers {', '.join(settings.otlp_header_names)}" if settings.otlp_header_names else "")
             if name == "otlp" else "the console" for name in exporters]
    hint = "" if "otlp" in exporters else ": set OTEL_EXPORTER_OTLP_ENDPOINT to send them to Honeycomb"
    return Status(True, f"spans as {resource.attributes[SERVICE_NAME]} to {' and '.join(where) or 'nowhere'}{hint}")


def traces_destination(settings: Settings) -> str:
    """Where the otlp exporter sends spans (the SDK's default when unset), credentials redacted."""
    return redact_url(settings.otlp_traces_endpoint or "http://localhost:4318/v1/traces")
