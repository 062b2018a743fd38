"""OpenTelemetry, the spine, and Honeycomb through it, as its documentation sets it up: one tracer
provider per process, set as the global, a batch span processor per exporter. The SDK reads its
own variables; Cruddur sets defaults only where none is set: its service name, X-Ray's id generator
and propagator (one trace id for Honeycomb and X-Ray), the stable HTTP conventions, an untraced
health check, and one line per span on the console when no endpoint is set."""
import json
import logging
import os
import re
import sys

from flask import Flask, request
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import PROCESS_PID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from cruddur.config import Settings
from cruddur.observability.redact import SECRET_NAMES, redact_query, redact_url

# Only the health check's own path, whatever its query; the instrumentation searches the whole URL.
HEALTH_CHECK_URL = r"^[a-z]+://[^/]+/api/health(\?|$)"
SANITIZE_FIELDS = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"

logger = logging.getLogger(__name__)


def one_line(span: ReadableSpan) -> str:
    """A span as one readable console line instead of the SDK's multi-line JSON."""
    ids = (span.context.trace_id, span.context.span_id, span.parent.span_id if span.parent else None)
    return (f"span {span.name} kind={span.kind.name} trace_id={ids[0]:032x} span_id={ids[1]:016x} parent_id="
            f"{'-' if ids[2] is None else f'{ids[2]:016x}'} duration_ms={(span.end_time - span.start_time) / 1e6:.3f} "
            f"status={span.status.status_code.name} {json.dumps(dict(span.attributes), default=str, ensure_ascii=False)}\n")


def init_app(app: Flask, settings: Settings, first_app: bool) -> tuple[bool, str]:
    exporters = {"otlp": OTLPSpanExporter,  # reads its endpoint, headers, timeout and compression itself
                 "console": lambda: ConsoleSpanExporter(out=sys.stdout, formatter=one_line)}
    given = settings.otel_traces_exporter or ("otlp" if settings.otlp_traces_endpoint else "console")
    names = [name for name in dict.fromkeys(given.lower().replace(" ", "").split(",")) if name not in ("", "none")]
    if first_app:
        os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
        if not os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"):  # the SDK's 10 s would take the exit's whole budget
            os.environ.setdefault("OTEL_EXPORTER_OTLP_TIMEOUT", "3")
        # Header capture, when the user turns it on, never records a secret header's value.
        os.environ[SANITIZE_FIELDS] = ",".join(filter(None, [os.environ.get(SANITIZE_FIELDS), *SECRET_NAMES]))
        if not os.environ.get("OTEL_PROPAGATORS"):
            propagate.set_global_textmap(CompositePropagator([
                AwsXRayPropagator(), TraceContextTextMapPropagator(), W3CBaggagePropagator()]))
        resource = Resource.create({PROCESS_PID: os.getpid()})  # the pid tells gunicorn's workers apart
        if resource.attributes[SERVICE_NAME].startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: "backend-flask"}))
        provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator(),
                                  span_limits=SpanLimits(max_span_attribute_length=1024))
        for name in [] if settings.otel_sdk_disabled else names:  # disabled, nothing is exported: no thread
            if name in exporters:
                provider.add_span_processor(BatchSpanProcessor(exporters[name]()))  # reads OTEL_BSP_* itself
            else:
                logger.error("opentelemetry: OTEL_TRACES_EXPORTER: no exporter named %r (use otlp, console or none)",
                             name)
        trace.set_tracer_provider(provider)  # with OTEL_SDK_DISABLED=true, its tracers are no-ops
        if not settings.otel_sdk_disabled:
            # Rollbar's own sends, from its threads, would each be a trace of their own.
            RequestsInstrumentor().instrument(excluded_urls=None if os.environ.get(
                "OTEL_PYTHON_REQUESTS_EXCLUDED_URLS") else re.escape(settings.rollbar_endpoint or "api.rollbar.com"))
            # Every engine made from now on, with no metrics: its pool counter misses the store's checkouts
            # (instrumentation is suppressed there) and costs each request. metrics.py reads the pool instead.
            SQLAlchemyInstrumentor().instrument(meter_provider=NoOpMeterProvider())
    if settings.otel_sdk_disabled:
        return False, "OTEL_SDK_DISABLED is true: nothing is traced"

    FlaskInstrumentor().instrument_app(app, enable_commenter=False,
                                       excluded_urls=settings.otel_flask_excluded_urls or HEALTH_CHECK_URL)

    # Right after the instrumentation's hook, which sets the URL attributes after its request_hook.
    @app.before_request
    def name_and_redact_the_span() -> None:
        span = trace.get_current_span()
        if span.is_recording() and request.url_rule is None:
            span.update_name(request.method)  # as the HTTP conventions name a span with no route
        if span.is_recording() and request.query_string:
            for name, redact in (("url.query", redact_query), ("http.target", redact_url), ("http.url", redact_url)):
                if name in span.attributes:
                    span.set_attribute(name, redact(span.attributes[name]))

    headers = f" with headers {', '.join(settings.otlp_header_names)}" if settings.otlp_header_names else ""
    where = " and ".join(f"OTLP/HTTP to {redact_url(settings.otlp_traces_url)}{headers}" if name == "otlp"
                         else "the console" for name in names if name in exporters) or "nowhere"
    hint = "" if "otlp" in names else ": set OTEL_EXPORTER_OTLP_ENDPOINT to send them to Honeycomb"
    return True, f"spans as {trace.get_tracer_provider().resource.attributes[SERVICE_NAME]} to {where}{hint}"
