"""Rollbar: unhandled exceptions and warnings reported with their request, person and trace id.

`import rollbar` in this module is the SDK, not this file: imports are absolute, so the
module's own name shadows nothing. The SDK is imported only when Rollbar is on.

The SDK is process-global and its `init` keeps the first token and environment it was
given, so the last app built owns it (as with the app's logger in logs.py); in gunicorn
each worker builds one app. Items are posted by the SDK's 'thread' handler, one short-lived
thread per item started when it is reported, so nothing is buffered until a later send.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path

from flask import Flask, Response, abort, got_request_exception, has_request_context, request

from cruddur.config import Settings
from cruddur.errors import error_response
from cruddur.observability import TELEMETRY, OncePerInterval, Status, finished_within, logs
from cruddur.observability.xray import capture
from cruddur.routes import current_user_handle

BACKEND_DIR = Path(__file__).resolve().parents[2]
# Matched case-insensitively against the last key of every field of an item (headers,
# form fields, query parameters in URLs): their values are replaced with asterisks.
SCRUB_FIELDS = [
    "authorization", "proxy-authorization", "cookie", "x-honeycomb-team", "x-rollbar-access-token",
    "x-api-key", "x-amz-security-token", "access_token", "accesstoken", "token", "api_key", "apikey",
    "secret", "client_secret", "aws_secret_access_key", "aws_session_token", "session",
    "pw", "passwd", "password", "confirm_password", "password_confirmation", "auth", "authentication",
]
# A hanging Rollbar holds each item's thread this long (connect, then read), not the request.
SEND_TIMEOUT_S = 3
# At most one `/rollbar/test` report per worker this often, so the route cannot flood Rollbar.
TEST_REPORT_INTERVAL_S = 10


class ItemCount(OncePerInterval):
    """Counts the items reported, and those the SDK failed to post, from its own log records.

    The SDK logs one warning or error per item it could not post (with a traceback, for a
    connection error): they are let through once a minute, enough to tell an outage.
    """

    def __init__(self) -> None:
        super().__init__(60)
        self.reported = self.failed = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.reported = self.failed = 0

    def count_reported(self) -> None:
        with self._lock:
            self.reported += 1

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            with self._lock:
                self.failed += 1
        return super().filter(record)


# The SDK is process-global, and so are its items: counted from the last `init`.
ITEMS = ItemCount()

logger = logging.getLogger(__name__)


class Interval:
    """Lets one event through per `seconds`; a process (gunicorn worker) has its own."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._last: float | None = None
        self._lock = threading.Lock()

    def wait_s(self) -> float:
        """0 if the event may happen now (and counts it), else the seconds left to wait."""
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last < self.seconds:
                return self.seconds - (now - self._last)
            self._last = now
            return 0.0


def _add_request_context(payload: dict, **_) -> dict:
    """SDK payload hook: adds the route, person and trace id, and takes the token out of the body.

    The SDK has already taken the token for the X-Rollbar-Access-Token header, which
    Rollbar reads; in the body it would only be one more copy to leak.
    """
    payload.pop("access_token", None)
    ITEMS.count_reported()
    if has_request_context():
        data = payload["data"]
        route = request.url_rule.rule if request.url_rule else None
        data["framework"] = "flask"
        data["context"] = route
        data.setdefault("request", {})["route"] = route
        data["person"] = {"id": current_user_handle()}
        data.setdefault("custom", {})["trace_id"] = logs.current_trace_id()
    return payload


def _report_exception(sender: Flask, exception: BaseException, **_) -> None:
    import rollbar

    rollbar.report_exc_info((type(exception), exception, exception.__traceback__), request)


def _configure_sdk(settings: Settings) -> str:
    """Points the SDK at this app's settings; returns the endpoint items go to."""
    import rollbar

    endpoint = settings.rollbar_endpoint or rollbar.DEFAULT_ENDPOINT
    ITEMS.reset()
    rollbar.init(
        settings.rollbar_access_token,
        settings.rollbar_environment,
        scrub_fields=SCRUB_FIELDS,
        endpoint=endpoint,
        root=str(BACKEND_DIR),
        allow_logging_basic_config=False,  # logs.py owns logging
        handler="thread",
        timeout=SEND_TIMEOUT_S,
        # Locals can hold raw bodies and tokens under names no scrub list knows.
        locals={"enabled": False},
        # The SDK would log the whole payload on a 429 or 413.
        log_payload_on_error=False,
        log_all_rate_limited_items=True,  # one record per item lost, for ItemCount
        suppress_reinit_warning=True,
    )
    # A second `init` in one process merges the options above but keeps the first token and
    # environment; the SDK's SETTINGS is meant to be overridden directly.
    rollbar.SETTINGS.update(access_token=settings.rollbar_access_token,
                            environment=settings.rollbar_environment)
    rollbar.events.add_payload_handler(_add_request_context)  # added once: the SDK skips duplicates
    return endpoint


def wait_for_items(timeout_s: float) -> bool:
    """Waits for items still being sent, at most `timeout_s`; False (and says how many) if some were left.

    One line tells the items of this process that never reached Rollbar, if any.
    """
    import rollbar

    # rollbar.wait() has no timeout: it joins the SDK's queue of sending threads.
    finished = finished_within(rollbar.wait, timeout_s, "rollbar-wait")
    unsent = 0 if finished else rollbar._threads.unfinished_tasks
    if ITEMS.failed or unsent:
        logger.warning("rollbar: %d of %d items not delivered (%d failed, %d still being sent after %ss at exit)",
                       ITEMS.failed + unsent, ITEMS.reported, ITEMS.failed, unsent, timeout_s,
                       extra={"fields": {"integration": "rollbar", "not_delivered": ITEMS.failed + unsent,
                                         "reported": ITEMS.reported}})
    return finished


def init_app(app: Flask, settings: Settings) -> Status:
    if not settings.rollbar_access_token:
        # The route exists either way, as openapi-3.0.yml says (other methods get 405): off, it is not found.
        app.add_url_rule("/rollbar/test", "rollbar_test", lambda: abort(404))
        return Status(False, "set ROLLBAR_ACCESS_TOKEN to report errors")

    import rollbar

    endpoint = _configure_sdk(settings)
    logging.getLogger("rollbar").addFilter(ITEMS)  # added once: logging skips duplicates
    got_request_exception.connect(_report_exception, app)
    app.extensions[TELEMETRY].on_shutdown(wait_for_items)
    interval = Interval(TEST_REPORT_INTERVAL_S)

    @app.get("/rollbar/test")
    @capture("rollbar_test")
    def rollbar_test():
        wait_s = interval.wait_s()
        if wait_s:
            response, status = error_response(429, ["rate_limited"])
            response.headers["Retry-After"] = str(math.ceil(wait_s))
            return response, status
        rollbar.report_message("Hello World!", "warning", request)
        return Response("Hello World!", mimetype="text/plain")

    return Status(True, f"environment {settings.rollbar_environment}, items to {endpoint}")
