"""Logging: JSON lines on stdout with the trace id, and one access line per request.

Every record of the `cruddur` loggers carries the current trace id, so a line found
in CloudWatch Logs Insights leads to the same request in Honeycomb and X-Ray.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone

from flask import Flask, g, request
from opentelemetry import trace

from cruddur.config import Settings

APP_LOGGER = "cruddur"
TRACE_ID_HEADER = "X-Trace-Id"
# Long enough for any real line, short enough that a hostile request cannot make a huge event.
MAX_FIELD_CHARS = 2048

access_logger = logging.getLogger("cruddur.access")


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def clip(value: str) -> str:
    return value if len(value) <= MAX_FIELD_CHARS else value[:MAX_FIELD_CHARS] + "…"


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


def add_handler(handler: logging.Handler) -> None:
    """Attach a handler to the app's loggers, formatting and trace-stamping like the others."""
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TraceIdFilter())
    logging.getLogger(APP_LOGGER).addHandler(handler)


def init_app(app: Flask, settings: Settings) -> None:
    app_logger = logging.getLogger(APP_LOGGER)
    # The app owns its logger: a new app (as in tests) replaces the handlers of the last one.
    app_logger.handlers.clear()
    app_logger.setLevel(logging.INFO)
    app_logger.propagate = False
    add_handler(logging.StreamHandler(sys.stdout))

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_access(response):
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 3) if started else None
        full_path = clip(request.full_path.rstrip("?"))
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
