"""AWS X-Ray, the journal's route: the SDK's middleware, a subsegment per route, UDP to the daemon.

The segment's trace id is the OpenTelemetry trace id (made X-Ray-compatible by AWS's id
generator), so one id finds the request in Honeycomb and in X-Ray. The SDK's global
`xray_recorder` is the one configured, as in the journal, so the SDK's own patches find
it. The SDK is imported only when X-Ray is on: importing it opens a UDP socket.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, request
from opentelemetry import trace

from cruddur.config import Settings
from cruddur.observability.lifecycle import Status
from cruddur.observability.logs import rate_limit
from cruddur.observability.redact import clip

EXTENSION = "cruddur.xray_recorder"
XRAY_HEADER_ENVIRON = "HTTP_X_AMZN_TRACE_ID"
# The caller's fields kept when it continues its own trace; anything else is forged or junk.
CALLER_FIELDS = {"Parent": "[0-9a-f]{16}", "Sampled": "[01?]"}


class NoSubsegment:
    """Stands in for a subsegment when X-Ray is off, so callers need no `if`."""

    def put_metadata(self, key, value, namespace="default") -> None:
        pass

    def put_annotation(self, key, value) -> None:
        pass


def _recorder():
    return current_app.extensions.get(EXTENSION)


@contextmanager
def subsegment(name: str) -> Iterator:
    recorder = _recorder()
    if recorder is None:
        yield NoSubsegment()
        return
    with recorder.in_subsegment(name) as sub:
        yield sub or NoSubsegment()


def local_sampling_rules(rule_file) -> dict:
    """The SDK's local rule format, derived from the API's rule in aws/json/xray.json.

    The same numbers then apply when the daemon cannot hand out centralised rules.
    """
    rule = json.loads(rule_file.read_text())["SamplingRule"]
    target = {"fixed_target": rule["ReservoirSize"], "rate": rule["FixedRate"]}
    return {
        "version": 2,
        "rules": [{
            "description": rule["RuleName"],
            "host": rule["Host"],
            "http_method": rule["HTTPMethod"],
            "url_path": rule["URLPath"],
            **target,
        }],
        "default": target,
    }


def xray_trace_header(incoming: str | None) -> str:
    """X-Amzn-Trace-Id whose Root is the current OpenTelemetry trace id.

    The caller's Parent and Sampled fields are kept when its Root is that same trace,
    i.e. when the propagator continued the caller's X-Ray trace. A request that
    OpenTelemetry does not trace (the health check) is not sampled here either.
    """
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "Sampled=0"
    hex_id = trace.format_trace_id(context.trace_id)
    root = f"1-{hex_id[:8]}-{hex_id[8:]}"
    fields = dict(part.split("=", 1) for part in (incoming or "").split(";") if "=" in part)
    header = f"Root={root}"
    if fields.get("Root") == root:
        header += "".join(f";{key}={fields[key]}" for key, pattern in CALLER_FIELDS.items()
                          if re.fullmatch(pattern, fields.get(key, "")))
    return header


def init_app(app: Flask, settings: Settings) -> Status:
    if not settings.xray_daemon_address:
        return Status(False, "set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000) to send segments")
    if not settings.xray_sdk_enabled:
        return Status(False, "AWS_XRAY_SDK_ENABLED is false")
    if settings.otel_sdk_disabled:
        return Status(False, "OTEL_SDK_DISABLED is true, and segments are rooted in OpenTelemetry's trace")

    from aws_xray_sdk.core import patch, xray_recorder
    from aws_xray_sdk.ext.flask.middleware import XRayMiddleware

    try:
        rules = local_sampling_rules(settings.xray_sampling_rule_file)
        rules_detail = f"local fallback rule from {settings.xray_sampling_rule_file.name}"
    except (OSError, KeyError, ValueError) as exc:
        rules = None
        rules_detail = f"SDK default local rule ({settings.xray_sampling_rule_file} unreadable: {exc})"

    # The SDK polls the daemon for sampling rules every 10 s, with a traceback each time it is away.
    rate_limit("aws_xray_sdk.core.sampling.rule_poller", "aws_xray_sdk.core.sampling.target_poller")
    xray_recorder.configure(
        service="backend-flask",
        dynamic_naming=settings.xray_url,
        daemon_address=settings.xray_daemon_address,
        context_missing="IGNORE_ERROR",
        sampling_rules=rules,
        plugins=(),
    )
    app.extensions[EXTENSION] = xray_recorder
    # The SDK's SQL subsegment per statement (SQLAlchemy Core), patched once per process. It
    # names each after the database's host: a SQLite file has none, and X-Ray refuses a
    # subsegment without a name, so SQLite's statements are in the OpenTelemetry spans only.
    if (settings.database_url or "sqlite").partition(":")[0].startswith("postgres"):
        patch(("sqlalchemy_core",))

    @app.before_request
    def root_segment_in_the_opentelemetry_trace() -> None:
        request.environ[XRAY_HEADER_ENVIRON] = xray_trace_header(request.environ.get(XRAY_HEADER_ENVIRON))

    XRayMiddleware(app, xray_recorder)

    # After the middleware's hooks, which begin the segment; teardown hooks run in reverse,
    # so the route's subsegment ends before its segment.
    @app.before_request
    def begin_route_subsegment() -> None:
        # Named after the view, as the journal's @xray_recorder.capture('activities_home') was.
        if request.endpoint:
            g.route_subsegment = xray_recorder.begin_subsegment(request.endpoint.rsplit(".", 1)[-1])

    @app.after_request
    def clip_request_fields(response):
        # A segment travels in one UDP datagram: a 100 kB User-Agent would make it too big to send.
        fields = getattr(xray_recorder.current_segment(), "http", {}).get("request", {})
        for key, value in fields.items():
            if isinstance(value, str):
                fields[key] = clip(value)
        return response

    @app.teardown_request
    def end_route_subsegment(exception) -> None:
        if g.pop("route_subsegment", None) is not None:
            xray_recorder.end_subsegment()

    return Status(True, f"segments to {settings.xray_daemon_address} as backend-flask; {rules_detail}")
