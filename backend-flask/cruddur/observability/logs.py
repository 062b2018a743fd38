"""Logging the way a Flask app writes it: every record, the SDKs' included, as a JSON line on
stdout with the request's trace id, written on the calling thread (stdout is local, so no queue);
an access line per request; and an SDK's failures told once per interval, not once per send.
"""
import collections
import logging
import sys
import threading
import time

from flask import Flask, g, request
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from cruddur.observability.redact import clip, redact_url

TRACE_ID_HEADER = "X-Trace-Id"
# The SDKs' loggers that tell failed sends, dropped items and clipped attributes, which come in
# floods while a service is away. (A filter on a logger sees only that logger's own records.)
FAILURE_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter",
                   "opentelemetry.exporter.otlp.proto.http._log_exporter", "opentelemetry.sdk._shared_internal",
                   "opentelemetry.attributes", "py.warnings", "rollbar", "aws_xray_sdk.core.emitters.udp_emitter",
                   "aws_xray_sdk.core.sampling.rule_poller", "aws_xray_sdk.core.sampling.target_poller")

access_logger = logging.getLogger("cruddur.access")


class RateLimit(logging.Filter):
    """At most `count` events in any `seconds`. As a log filter it drops the others, and the next
    record let through says how many, without its traceback: an outage is told in one line."""

    def __init__(self, seconds: float, count: int = 1):
        super().__init__()
        self.seconds, self.times, self.held_back = seconds, collections.deque(maxlen=max(count, 1)), 0
        self.lock = threading.Lock()

    def wait_s(self) -> float:
        """0 if the event may happen now (and counts it), else the seconds until it may."""
        with self.lock:
            now = time.monotonic()
            if len(self.times) == self.times.maxlen and now - self.times[0] < self.seconds:
                return self.times[0] + self.seconds - now
            self.times.append(now)
            return 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.wait_s():
            self.held_back += 1
            return False
        if self.held_back:
            record.msg, record.args = f"{record.getMessage()} ({self.held_back} more like this held back)", ()
        self.held_back, record.exc_info, record.exc_text = 0, None, None
        return True


def add_trace_id(record: logging.LogRecord) -> bool:
    """The handlers' filter: each line names its request's trace, and is clipped to a sane size."""
    context = trace.get_current_span().get_span_context()
    record.trace_id = trace.format_trace_id(context.trace_id) if context.is_valid else None
    record.msg, record.args = clip(record.getMessage()), ()
    return True


def json_handler(handler: logging.Handler) -> logging.Handler:
    """`handler` writing Cruddur's JSON lines: time, level, logger, message, trace_id, then any `extra`."""
    handler.setFormatter(JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time", rename_fields={
        "levelname": "level", "name": "logger", "exc_info": "exception"}))
    handler.addFilter(add_trace_id)
    return handler


def init_app(app: Flask, first_app: bool, failure_log_interval_s: float) -> None:
    if first_app:
        root = logging.getLogger()
        root.addHandler(json_handler(logging.StreamHandler(sys.stdout)))
        # The SDKs tell their warnings and errors; Cruddur tells its own INFO lines too.
        root.setLevel(logging.WARNING)
        logging.getLogger("cruddur").setLevel(logging.INFO)
        for name in FAILURE_LOGGERS:
            logging.getLogger(name).addFilter(RateLimit(failure_log_interval_s))

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_access(response):
        # Missing when an earlier before_request hook ended the request.
        started = g.get("request_started")
        path = clip(redact_url(request.full_path.rstrip("?")))
        access_logger.info("%s %s %s", request.method, path, response.status_code, extra={
            "remote_addr": request.remote_addr, "method": request.method, "scheme": request.scheme, "path": path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else None})
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            response.headers[TRACE_ID_HEADER] = trace.format_trace_id(context.trace_id)
        return response
