"""AWS X-Ray, by one of three routes (XRAY_EXPORT), each with OpenTelemetry's trace id: `daemon`,
the journal's (the SDK's middleware, a segment per request over UDP to the daemon, sampled by
aws/json/xray.json's rule); `otlp`, AWS's route after the SDK's end of support (one more exporter
on the tracer provider, signed with SigV4); `collector` (configuration only: the OTLP endpoint
is the Collector, which signs the spans for X-Ray)."""
import json
import os
import re

from flask import Flask, request
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from cruddur.config import Settings
from cruddur.observability import sigv4
from cruddur.observability.logs import trace_id
from cruddur.observability.redact import clip, redact_url

# The SDK parses AWS_XRAY_DAEMON_ADDRESS as it is imported, and an import error would stop the app:
# it is imported without it, and init_app says when it is malformed. Empty (how compose passes an
# unset one) means unset, as for every Cruddur variable.
daemon_address = os.environ.pop("AWS_XRAY_DAEMON_ADDRESS", "").strip()
from aws_xray_sdk import global_sdk_config  # noqa: E402
from aws_xray_sdk.core import xray_recorder  # noqa: E402
from aws_xray_sdk.core.daemon_config import DaemonConfig  # noqa: E402
from aws_xray_sdk.core.exceptions.exceptions import InvalidDaemonAddressException  # noqa: E402
from aws_xray_sdk.ext.flask.middleware import XRayMiddleware  # noqa: E402

if daemon_address:
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = daemon_address

XRAY_HEADER, XRAY_ENVIRON = "X-Amzn-Trace-Id", "HTTP_X_AMZN_TRACE_ID"
# The caller's fields kept when it continues its own trace; anything else is forged or junk.
CALLER_FIELDS = {"Parent": "[0-9a-f]{16}", "Sampled": "[01?]"}


def sampling_rule(rule_file) -> tuple[dict | None, str]:
    """aws/json/xray.json's rule as the SDK's local rule (used while the daemon hands out none), and
    where it came from; None (the SDK's default) when unreadable."""
    try:
        rule = json.loads(rule_file.read_text())["SamplingRule"]
        target = {"fixed_target": rule["ReservoirSize"], "rate": rule["FixedRate"]}
        return {"version": 2, "default": target, "rules": [{
            "description": rule["RuleName"], "host": rule["Host"], "http_method": rule["HTTPMethod"],
            "url_path": rule["URLPath"], **target}]}, (f"rule {rule['RuleName']} from {rule_file.name}: "
                                                       f"{target['fixed_target']} a second, then {target['rate']:.0%}")
    except (OSError, KeyError, TypeError, ValueError) as error:
        return None, f"the SDK's default rule ({rule_file} unreadable: {error})"


def xray_root() -> str | None:
    """The current OpenTelemetry trace id as X-Ray writes it, or None outside a trace."""
    hex_id = trace_id()
    return f"1-{hex_id[:8]}-{hex_id[8:]}" if hex_id else None


def init_app(app: Flask, settings: Settings, first_app: bool) -> tuple[bool, str]:
    mode, daemon = settings.xray_export, settings.xray_daemon_address
    try:
        DaemonConfig(daemon)  # the SDK's own parse, which its configure would fail on
        malformed = False
    except InvalidDaemonAddressException:
        malformed = True
    # The service's in_subsegment is a no-op unless the daemon route is on (AWS_XRAY_SDK_ENABLED wins).
    global_sdk_config.set_sdk_enabled(mode == "daemon" and bool(daemon) and not malformed
                                      and not settings.otel_sdk_disabled)
    if mode is None:
        return False, ("set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000) to send segments, "
                       "or XRAY_EXPORT=otlp for X-Ray's OTLP endpoint")
    if mode not in ("daemon", "otlp", "collector"):
        return False, f"XRAY_EXPORT is {mode!r}: use daemon, otlp or collector"
    if settings.otel_sdk_disabled:
        return False, "OTEL_SDK_DISABLED is true, and X-Ray's trace is OpenTelemetry's"
    if mode == "daemon" and not daemon:
        return False, "XRAY_EXPORT is daemon: set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000)"
    if mode == "daemon" and malformed:
        return False, f"AWS_XRAY_DAEMON_ADDRESS is {daemon!r}: use host:port (e.g. xray-daemon:2000)"
    if mode == "daemon" and not global_sdk_config.sdk_enabled():
        return False, "AWS_XRAY_SDK_ENABLED is false"
    found = sigv4.otlp_endpoint("xray", "/v1/traces") if mode == "otlp" else None
    if isinstance(found, str):
        return False, found

    # Added before the daemon route's middleware, so it runs after the middleware's own hook (Flask
    # runs after_request hooks in reverse), whose header names no trace when a segment is unsampled.
    @app.after_request
    def xray_trace_header(response):
        response.headers.pop(XRAY_HEADER, None)
        if root := xray_root():
            response.headers[XRAY_HEADER] = f"Root={root}"
        return response

    if mode == "collector":
        return True, f"spans through the OpenTelemetry Collector at {redact_url(settings.otlp_traces_url)}"
    if mode == "otlp":
        endpoint, where = found
        if first_app:  # explicit arguments: the exporter would read OTEL_EXPORTER_OTLP_*, which are Honeycomb's
            trace.get_tracer_provider().add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
                **endpoint, timeout=sigv4.EXPORT_TIMEOUT_S, compression=Compression.Gzip)))  # gzip or nothing
        return True, f"spans over OTLP/HTTP to {where}"

    rules, rules_detail = sampling_rule(settings.xray_sampling_rule_file)
    xray_recorder.configure(service="backend-flask", dynamic_naming=settings.xray_url, plugins=(),
                            daemon_address=daemon, context_missing="IGNORE_ERROR",
                            **({"sampling_rules": rules} if rules else {}))

    # Before the middleware's own hook: the segment takes OpenTelemetry's trace id as its root, with
    # the caller's Parent and Sampled only when the caller's X-Ray trace is the one continued.
    @app.before_request
    def root_segment_in_the_opentelemetry_trace() -> None:
        root = xray_root()
        fields = dict(part.split("=", 1) for part in request.environ.get(XRAY_ENVIRON, "").split(";") if "=" in part)
        request.environ[XRAY_ENVIRON] = f"Root={root}" + "".join(
            f";{name}={fields[name]}" for name, pattern in CALLER_FIELDS.items()
            if fields.get("Root") == root and re.fullmatch(pattern, fields.get(name, ""))) if root else "Sampled=0"

    XRayMiddleware(app, xray_recorder)

    # After the middleware's hook: a segment travels in one UDP datagram, which a 100 kB header would overflow.
    @app.before_request
    def clip_segment_fields() -> None:
        fields = getattr(xray_recorder.current_segment(), "http", {}).get("request", {})
        fields.update({name: clip(value) for name, value in fields.items() if isinstance(value, str)})
    return True, f"segments to {daemon} as backend-flask; {rules_detail}"
