"""Logging: JSON lines on stdout with the trace id, and one access line per request.

Every record of the `cruddur` loggers carries the current trace id, so a line found
in CloudWatch Logs Insights leads to the same request in Honeycomb and X-Ray.
Formatting and writing happen on a background thread once telemetry has started,
so a request only pays for putting a record on a bounded queue.
"""
from __future__ import annotations

import json
import logging
import queue
import re
import sys
import time
from datetime import datetime, timezone
from logging.handlers import QueueHandler, QueueListener
from urllib.parse import unquote_plus

from flask import Flask, g, request
from opentelemetry import trace

from cruddur.config import Settings
from cruddur.observability import SENSITIVE_NAMES, TELEMETRY

APP_LOGGER = "cruddur"
TRACE_ID_HEADER = "X-Trace-Id"
# Long enough for any real line, short enough that a hostile request cannot make a huge event.
MAX_FIELD_CHARS = 2048
QUEUE_CAPACITY = 10_000
SENSITIVE = re.compile("|".join(SENSITIVE_NAMES), re.IGNORECASE)

access_logger = logging.getLogger("cruddur.access")


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def clip(value: str) -> str:
    return value if len(value) <= MAX_FIELD_CHARS else value[:MAX_FIELD_CHARS] + "…"


def redact_query(url: str) -> str:
    """`url` with the value of each query parameter whose name looks secret replaced by REDACTED."""
    path, mark, query = url.partition("?")
    if not mark:
        return url
    pairs = (pair.partition("=") for pair in query.split("&"))
    return path + "?" + "&".join(f"{name}=REDACTED" if SENSITIVE.search(unquote_plus(name)) else name + equals + value
                                 for name, equals, value in pairs)


class TraceIdFilter(logging.Filter):
    """Stamps the trace id on each record where it is made, in the request's thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            record.trace_id = current_trace_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; structured fields come from `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": clip(record.getMessage()),
            "trace_id": getattr(record, "trace_id", None),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = clip(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class BackgroundHandler(QueueHandler):
    """Queues records for a listener thread; writes them directly until that thread runs.

    Direct writing covers start-up (before the gunicorn worker serves) and shutdown.
    The queue is bounded: when full, the oldest record is dropped and counted.
    """

    def __init__(self) -> None:
        super().__init__(queue.Queue(QUEUE_CAPACITY))
        self.listener = QueueListener(self.queue, respect_handler_level=True)
        self.running = False
        self.dropped = 0
        self.addFilter(TraceIdFilter())

    def add(self, handler: logging.Handler) -> None:
        self.listener.handlers = (*self.listener.handlers, handler)

    def start(self) -> None:
        self.listener.start()
        self.running = True

    def stop(self) -> None:
        self.running = False
        self.listener.stop()
        if self.dropped:
            logging.getLogger(APP_LOGGER).warning("dropped %d log records: the log queue was full", self.dropped)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The queue stays in this process, so the record needs no pickling-safe copy.
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        while True:
            try:
                self.queue.put_nowait(record)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def emit(self, record: logging.LogRecord) -> None:
        if self.running:
            super().emit(record)
        else:
            self.listener.handle(record)


def add_handler(handler: logging.Handler) -> None:
    """Send the app's log records to `handler` too, as JSON lines with their trace id."""
    handler.setFormatter(JsonFormatter())
    (background,) = logging.getLogger(APP_LOGGER).handlers
    background.add(handler)


def init_app(app: Flask, settings: Settings) -> None:
    background = BackgroundHandler()
    app_logger = logging.getLogger(APP_LOGGER)
    # The app owns its logger: a new app (as in tests) replaces the handlers of the last one.
    app_logger.handlers[:] = [background]
    app_logger.setLevel(logging.INFO)
    app_logger.propagate = False
    add_handler(logging.StreamHandler(sys.stdout))
    telemetry = app.extensions[TELEMETRY]
    telemetry.on_start(background.start)
    telemetry.on_drain(background.stop)

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_access(response):
        # Missing when an earlier before_request hook ended the request.
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 3) if started else None
        full_path = clip(redact_query(request.full_path.rstrip("?")))
        access_logger.info("%s %s %s", request.method, full_path, response.status_code, extra={"fields": {
            "remote_addr": request.remote_addr,
            "method": request.method,
            "scheme": request.scheme,
            "path": full_path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        }})
        trace_id = current_trace_id()
        if trace_id:
            response.headers[TRACE_ID_HEADER] = trace_id
        return response
