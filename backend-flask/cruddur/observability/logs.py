"""Logging: every record, the SDKs' included, as a JSON line on stdout with its trace id (so a
log line leads to the request's trace), one access line per request, and the one rate limiter
for the SDKs' failures. Once telemetry has started a request only queues its records.
"""

import json
import logging
import math
import sys
import threading
import time
from datetime import datetime, timezone

from flask import Flask, g, request
from opentelemetry import trace

from cruddur.observability.lifecycle import SHUTDOWN_TIMEOUT_S, Drain
from cruddur.observability.redact import clip, redact_url

TRACE_ID_HEADER = "X-Trace-Id"
QUEUE_CAPACITY = 10_000
# An SDK that cannot reach its service says so once per this many seconds.
FAILURE_LOG_INTERVAL_S = 60

access_logger = logging.getLogger("cruddur.access")


def current_ids() -> tuple[str | None, str | None]:
    """The current span's trace and span ids, as hex."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


class OncePerInterval(logging.Filter):
    """One event per `seconds` per process. As a log filter it drops the others, and the next
    record let through says how many, without its traceback: an outage is told in one line."""

    def __init__(self, seconds: float = FAILURE_LOG_INTERVAL_S):
        super().__init__()
        self.seconds, self.held_back = seconds, 0
        self._last, self._lock = -math.inf, threading.Lock()

    def wait_s(self) -> float:
        """0 if the event may happen now (and counts it), else the seconds left to wait."""
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.seconds:
                return self.seconds - (now - self._last)
            self._last = now
            return 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.wait_s():
            self.held_back += 1
            return False
        if self.held_back:
            record.msg, record.args = f"{record.getMessage()} ({self.held_back} more like this held back)", ()
        self.held_back = 0
        record.exc_info = record.exc_text = None
        return True


def rate_limit(*logger_names: str) -> None:
    """Each of these SDK loggers tells its failures once a minute (added once per process)."""
    for name in logger_names:
        sdk_logger = logging.getLogger(name)
        if not any(isinstance(f, OncePerInterval) for f in sdk_logger.filters):
            sdk_logger.addFilter(OncePerInterval())


class JsonFormatter(logging.Formatter):
    """One JSON object per line; structured fields come from `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": clip(record.getMessage()),
                 "trace_id": getattr(record, "trace_id", None), **getattr(record, "fields", {})}
        if record.exc_info:
            entry["exception"] = clip(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class BackgroundHandler(logging.Handler):
    """Hands records to its handlers from a bounded Drain once telemetry has started, directly
    before; the trace and span ids are stamped where the record is made."""

    def __init__(self) -> None:
        super().__init__()
        self.handlers: tuple[logging.Handler, ...] = ()
        self.drain = Drain(self.hand_on, QUEUE_CAPACITY, "log-records")

    def add(self, handler: logging.Handler) -> None:
        handler.setFormatter(JsonFormatter())
        self.handlers = (*self.handlers, handler)

    def remove(self, handler: logging.Handler) -> None:
        self.handlers = tuple(h for h in self.handlers if h is not handler)

    def stop(self) -> None:
        # Hands on what is buffered now; shipping it is each handler's stopper's job.
        self.drain.stop(SHUTDOWN_TIMEOUT_S)
        if self.drain.dropped:
            logging.getLogger(__name__).warning("dropped %d log records: the log queue was full", self.drain.dropped)

    def hand_on(self, record: logging.LogRecord) -> None:
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    def emit(self, record: logging.LogRecord) -> None:
        if not hasattr(record, "trace_id"):
            record.trace_id, record.span_id = current_ids()
        if self.drain.thread.is_alive():
            self.drain.put(record)
        else:
            self.hand_on(record)


def init_app(app: Flask, telemetry) -> BackgroundHandler:
    """Sends every record to stdout as JSON; returns the handler that remote log handlers join."""
    background = BackgroundHandler()
    background.add(logging.StreamHandler(sys.stdout))
    root = logging.getLogger()
    # The app owns the process's logging: a new app (as in tests) replaces the last one's
    # handler, and leaves handlers it did not add (pytest's) in place.
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, BackgroundHandler)] + [background]
    # The SDKs tell their warnings and errors; the app tells its own INFO lines too.
    root.setLevel(logging.WARNING)
    logging.getLogger("cruddur").setLevel(logging.INFO)
    telemetry.starters.append(background.drain.thread.start)
    telemetry.drains.append(background.stop)

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_access(response):
        # Missing when an earlier before_request hook ended the request.
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 3) if started else None
        full_path = clip(redact_url(request.full_path.rstrip("?")))
        access_logger.info("%s %s %s", request.method, full_path, response.status_code, extra={"fields": {
            "remote_addr": request.remote_addr, "method": request.method, "scheme": request.scheme,
            "path": full_path, "status": response.status_code, "duration_ms": duration_ms}})
        trace_id = current_ids()[0]
        if trace_id:
            response.headers[TRACE_ID_HEADER] = trace_id
        return response

    return background
