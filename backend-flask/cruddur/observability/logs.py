"""Logging as Flask apps write it: every record, the SDKs' included, a JSON line on stdout with its
request's trace id, written on the calling thread (stdout is local: no queue); an access line per
request; and an SDK's failures told once per interval, not once per send."""
import collections
import logging
import sys
import threading
import time

from flask import Flask, g, request
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from cruddur.observability.redact import clip, redact_url

# Loggers that tell failed sends, dropped items and clipped attributes: floods while a service
# is away. (A filter on a logger sees that logger's own records, not its children's.)
FAILURE_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter",
                   "opentelemetry.exporter.otlp.proto.http.metric_exporter", "opentelemetry.sdk.metrics._internal.export",
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
        """0 if the event may happen now (counting it), else the seconds until it may."""
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
        if self.held_back:  # its arguments are left to the formatter: a bad one is the handler's error
            record.msg = f"{record.msg} ({self.held_back} more like this held back)"
        self.held_back, record.exc_info, record.exc_text = 0, None, None
        return True


def trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


class JsonLines(JsonFormatter):
    """A record as a JSON line: time, level, logger, message, its request's trace id and any `extra`
    fields. The message and an exception's text are clipped: a hostile request makes no huge line."""

    # python-json-logger's arguments for these fields (bench/apps/probe.py gives them to other bases too).
    ARGUMENTS = {"fmt": "{levelname}{name}{message}", "style": "{", "timestamp": "time",
                 "rename_fields": {"levelname": "level", "name": "logger", "exc_info": "exception"}}

    def __init__(self):
        super().__init__(**self.ARGUMENTS)

    def format(self, record: logging.LogRecord) -> str:
        # In the formatter, not a filter: a record that cannot be formatted is then the handler's
        # error to report (handleError), never an exception raised in the code that logged it.
        record.trace_id, record.msg, record.args = trace_id(), clip(record.getMessage()), ()
        return super().format(record)

    def formatException(self, exc_info) -> str:
        return clip(super().formatException(exc_info))


def init_app(app: Flask, first_app: bool, failure_log_interval_s: float) -> None:
    if first_app:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(JsonLines())
        logging.getLogger().addHandler(console)
        logging.getLogger().setLevel(logging.WARNING)  # the SDKs' warnings and errors
        logging.getLogger("cruddur").setLevel(logging.INFO)  # and Cruddur's own lines
        for name in FAILURE_LOGGERS:
            logging.getLogger(name).addFilter(RateLimit(failure_log_interval_s))

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_access(response):
        started = g.get("request_started")  # missing when an earlier hook ended the request
        path = clip(redact_url(request.full_path.rstrip("?")))
        access_logger.info("%s %s %s", request.method, path, response.status_code, extra={
            "remote_addr": request.remote_addr, "method": request.method, "scheme": request.scheme, "path": path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else None})
        if current := trace_id():
            response.headers["X-Trace-Id"] = current
        return response
