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
from cruddur.observability import TELEMETRY, Status, logs
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
# gunicorn allows 10 s after SIGTERM; CloudWatch takes up to 5 of them, Rollbar gets 4.
FLUSH_TIMEOUT_S = 4
# At most one `/rollbar/test` report per worker this often, so the route cannot flood Rollbar.
TEST_REPORT_INTERVAL_S = 10

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
        # The SDK would log the whole payload on a 429 or 413, and warn about every 429.
        log_payload_on_error=False,
        log_all_rate_limited_items=False,
        suppress_reinit_warning=True,
    )
    # A second `init` in one process merges the options above but keeps the first token and
    # environment; the SDK's SETTINGS is meant to be overridden directly.
    rollbar.SETTINGS.update(access_token=settings.rollbar_access_token,
                            environment=settings.rollbar_environment)
    rollbar.events.add_payload_handler(_add_request_context)  # added once: the SDK skips duplicates
    return endpoint


def wait_for_items(timeout_s: float = FLUSH_TIMEOUT_S) -> bool:
    """Waits for items still being sent, at most `timeout_s`; False if some were left."""
    import rollbar

    # rollbar.wait() has no timeout: wait for it on a thread that is left behind if Rollbar hangs.
    waiter = threading.Thread(target=rollbar.wait, name="rollbar-wait", daemon=True)
    waiter.start()
    waiter.join(timeout_s)
    if waiter.is_alive():
        logger.warning("Rollbar items still unsent after %ss at shutdown: dropped", timeout_s)
        return False
    return True


def init_app(app: Flask, settings: Settings) -> Status:
    if not settings.rollbar_access_token:
        # The route exists either way, as openapi-3.0.yml says (other methods get 405): off, it is not found.
        app.add_url_rule("/rollbar/test", "rollbar_test", lambda: abort(404))
        return Status(False, "set ROLLBAR_ACCESS_TOKEN to report errors")

    import rollbar

    endpoint = _configure_sdk(settings)
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
