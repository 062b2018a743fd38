"""AWS X-Ray, by one of three routes (XRAY_EXPORT) that record OpenTelemetry's trace id:

- `daemon`, the journal's: the SDK's global `xray_recorder`, its middleware, a subsegment
  per route, UDP to the daemon (the SDK is imported only here: importing it opens a socket);
- `otlp`, AWS's route after the SDK's end of support: the app's spans, an INTERNAL span per
  route, signed with SigV4 to X-Ray's OTLP endpoint;
- `collector`: the same spans, sent once to the OpenTelemetry Collector, which signs them.
On every route, aws/json/xray.json's rule decides which traces X-Ray keeps.
"""

import functools
import json
import logging
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, request
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import SpanProcessor

from cruddur.config import Settings
from cruddur.observability import otel, sigv4
from cruddur.observability.lifecycle import CountingExporter, Status
from cruddur.observability.logs import rate_limit
from cruddur.observability.redact import clip

EXTENSION = "cruddur.xray_recorder"
OTLP = "otlp"  # EXTENSION's value on the otlp route, where OpenTelemetry is the recorder
# X-Ray's OTLP endpoint takes gzip or nothing; a hung endpoint holds the span thread this long.
EXPORT_TIMEOUT_S = 5
# On every span of a trace: whether X-Ray's rule keeps it (the collector's filter reads it too).
SAMPLED = "cruddur.xray.sampled"
# The SDK's own default local rule, used when xray.json cannot be read.
DEFAULT_RULE = {"fixed_target": 1, "rate": 0.05}
XRAY_HEADER_ENVIRON = "HTTP_X_AMZN_TRACE_ID"
# The caller's fields kept when it continues its own trace; anything else is forged or junk.
CALLER_FIELDS = {"Parent": "[0-9a-f]{16}", "Sampled": "[01?]"}

tracer = trace.get_tracer(__name__)


class SpanSubsegment:
    """A subsegment's `put_metadata` on an OpenTelemetry span, whose attributes X-Ray shows as
    metadata (a no-op on a span that does not record)."""

    def __init__(self, span: trace.Span):
        self.span = span

    def put_metadata(self, key, value, namespace="default") -> None:
        # Attributes are flat: {now, results-size} under namespace.key become namespace.key.now, ...
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for field, item in items:
            self.span.set_attribute(".".join(filter(None, (namespace, key, field))), item)


@contextmanager
def subsegment(name: str) -> Iterator:
    recorder = current_app.extensions.get(EXTENSION)
    if recorder == OTLP:
        with tracer.start_as_current_span(name) as span:
            yield SpanSubsegment(span)
    elif recorder is None:
        yield SpanSubsegment(trace.INVALID_SPAN)
    else:
        with recorder.in_subsegment(name) as sub:
            yield sub or SpanSubsegment(trace.INVALID_SPAN)


def sampling_rule(rule_file) -> tuple[dict, str]:
    """aws/json/xray.json's rule in the SDK's local rule format (so the same numbers apply when
    the daemon hands out no centralised rules), and where it came from; the SDK's default when unreadable."""
    try:
        rule = json.loads(rule_file.read_text())["SamplingRule"]
        target = {"fixed_target": rule["ReservoirSize"], "rate": rule["FixedRate"]}
        return {"version": 2, "default": target, "rules": [{
            "description": rule["RuleName"], "host": rule["Host"], "http_method": rule["HTTPMethod"],
            "url_path": rule["URLPath"], **target}]}, (f"rule {rule['RuleName']} from {rule_file.name}: "
                                                       f"{target['fixed_target']} a second, then {target['rate']:.0%}")
    except (OSError, KeyError, TypeError, ValueError) as exc:
        return ({"version": 2, "default": DEFAULT_RULE, "rules": []},
                f"the SDK's default rule ({rule_file} unreadable: {exc})")


class XRayRule(SpanProcessor):
    """Marks every span of a trace with SAMPLED: whether X-Ray keeps it. A trace begun here gets
    the SDK's local sampling (`fixed_target` a second, then `rate`); a caller's keeps its decision.
    Honeycomb still gets every trace; X-Ray's export, or the collector's filter, drops the rest."""

    def __init__(self, rule: dict):
        self.fixed_target, self.rate = rule["fixed_target"], rule["rate"]
        self.second, self.taken, self._lock = None, 0, threading.Lock()

    def on_start(self, span, parent_context=None) -> None:
        parent = trace.get_current_span(parent_context)
        caller = parent.get_span_context()
        if caller.is_remote:
            kept = caller.trace_flags.sampled
        elif caller.is_valid:
            kept = bool(getattr(parent, "attributes", {}).get(SAMPLED))
        else:
            with self._lock:
                second = span.start_time // 1_000_000_000
                if second != self.second:
                    self.second, self.taken = second, 0
                self.taken += 1
                kept = self.taken <= self.fixed_target or random.random() < self.rate
        span.set_attribute(SAMPLED, kept)


def xray_root(span_context: trace.SpanContext) -> str:
    hex_id = trace.format_trace_id(span_context.trace_id)
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def xray_trace_header(incoming: str | None) -> str:
    """X-Amzn-Trace-Id rooted in the current OpenTelemetry trace, with the caller's Parent and
    Sampled when the propagator continued its trace; an untraced request is not sampled either."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "Sampled=0"
    root = xray_root(context)
    fields = dict(part.split("=", 1) for part in (incoming or "").split(";") if "=" in part)
    header = f"Root={root}"
    if fields.get("Root") == root:
        header += "".join(f";{key}={fields[key]}" for key, pattern in CALLER_FIELDS.items()
                          if re.fullmatch(pattern, fields.get(key, "")))
    return header


def view_name() -> str:
    """The route's name in X-Ray: its view's, as the journal's @xray_recorder.capture('activities_home') was."""
    return request.endpoint.rsplit(".", 1)[-1]


def capture_routes(app: Flask, settings: Settings) -> str:
    """What the journal's SDK records, as OpenTelemetry spans (a span per route, `mock-data`),
    each marked with X-Ray's decision; returns the rule's description."""
    app.extensions[EXTENSION] = OTLP
    rules, detail = sampling_rule(settings.xray_sampling_rule_file)
    app.extensions[otel.PROVIDER].add_span_processor(XRayRule(rules["default"]))

    # After OpenTelemetry's hooks, so the route's span is a child of the request's, and ends first.
    @app.before_request
    def begin_route_span() -> None:
        # No route span for a request OpenTelemetry does not trace (the health check).
        if request.endpoint and trace.get_current_span().is_recording():
            otel.for_the_request(tracer.start_as_current_span(view_name(), kind=trace.SpanKind.INTERNAL))

    @app.after_request
    def xray_header(response):
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            response.headers["X-Amzn-Trace-Id"] = f"Root={xray_root(span_context)}"
        return response

    return detail


def init_otlp(app: Flask, settings: Settings) -> Status:
    """The otlp route: no X-Ray SDK, no daemon; the app's spans to X-Ray's OTLP endpoint."""
    found = sigv4.otlp_endpoint("xray", "xray", "/v1/traces")
    if isinstance(found, str):
        return Status(False, found)
    endpoint, where = found
    # Every argument explicit: the exporter would read OTEL_EXPORTER_OTLP_*, which are Honeycomb's.
    exporter = OTLPSpanExporter(**endpoint, headers={}, timeout=EXPORT_TIMEOUT_S, compression=Compression.Gzip)
    app.extensions[otel.EXPORTERS]["xray"] = CountingExporter(
        exporter, keep=lambda span: bool(span.attributes.get(SAMPLED)))
    return Status(True, f"spans over OTLP/HTTP to {where}; sampled by {capture_routes(app, settings)}")


@functools.cache
def trace_sql_statements() -> None:
    """The SDK's SQL subsegment per statement (SQLAlchemy Core). The patch is process-wide, so a
    statement outside any segment (another app's) goes untraced, without the SDK's warning."""
    from aws_xray_sdk.core import patch

    patch(("sqlalchemy_core",))
    logging.getLogger("aws_xray_sdk.core.recorder").addFilter(
        lambda record: not record.getMessage().startswith("No segment found"))


def init_app(app: Flask, settings: Settings) -> Status:
    mode = settings.xray_export
    if mode is None:
        return Status(False, "set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000) to send segments, "
                             "or XRAY_EXPORT=otlp for X-Ray's OTLP endpoint")
    if mode not in ("daemon", OTLP, "collector"):
        return Status(False, f"XRAY_EXPORT is {mode!r}: use daemon, otlp or collector")
    if settings.otel_sdk_disabled:
        return Status(False, "OTEL_SDK_DISABLED is true, and X-Ray's trace is OpenTelemetry's")
    if mode == OTLP:
        return init_otlp(app, settings)
    if mode == "collector":  # docker-compose.yml's aws-collector profile
        return Status(True, f"route spans for X-Ray through the OpenTelemetry Collector at "
                            f"{otel.traces_destination(settings)}, sampled by {capture_routes(app, settings)}")
    if not settings.xray_daemon_address:
        return Status(False, "XRAY_EXPORT is daemon: set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000)")
    if not settings.xray_sdk_enabled:
        return Status(False, "AWS_XRAY_SDK_ENABLED is false")

    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.ext.flask.middleware import XRayMiddleware

    rules, rules_detail = sampling_rule(settings.xray_sampling_rule_file)
    # The SDK polls the daemon for sampling rules every 10 s, with a traceback each time it is away.
    rate_limit("aws_xray_sdk.core.sampling.rule_poller", "aws_xray_sdk.core.sampling.target_poller")
    xray_recorder.configure(service="backend-flask", dynamic_naming=settings.xray_url, plugins=(),
                            daemon_address=settings.xray_daemon_address, context_missing="IGNORE_ERROR",
                            sampling_rules=rules)
    app.extensions[EXTENSION] = xray_recorder
    trace_sql_statements()

    @app.before_request
    def root_segment_in_the_opentelemetry_trace() -> None:
        request.environ[XRAY_HEADER_ENVIRON] = xray_trace_header(request.environ.get(XRAY_HEADER_ENVIRON))

    XRayMiddleware(app, xray_recorder)

    # After the middleware's hooks, which begin the segment with the request's fields; teardown
    # hooks run in reverse, so the route's subsegment ends before its segment.
    @app.before_request
    def begin_route_subsegment() -> None:
        # A segment travels in one UDP datagram: a 100 kB User-Agent would make it too big to send.
        fields = getattr(xray_recorder.current_segment(), "http", {}).get("request", {})
        for key, value in fields.items():
            if isinstance(value, str):
                fields[key] = clip(value)
        if request.endpoint:
            g.route_subsegment = xray_recorder.begin_subsegment(view_name())

    @app.teardown_request
    def end_route_subsegment(exception) -> None:
        if g.pop("route_subsegment", None) is not None:
            xray_recorder.end_subsegment()

    return Status(True, f"segments to {settings.xray_daemon_address} as backend-flask; {rules_detail}")
