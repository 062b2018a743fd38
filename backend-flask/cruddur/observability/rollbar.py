"""Rollbar: unhandled exceptions and messages reported with their request, person and trace id.

The SDK (imported only when Rollbar is on) builds each item on the request's thread, scrubbed
by the one secret policy, and posts it from Cruddur's thread through a bounded queue. The SDK
is process-global: the last app built owns it (in gunicorn each worker builds one).
"""

import logging
import threading
from pathlib import Path

from flask import Flask, current_app, got_request_exception, has_app_context, has_request_context, request

from cruddur.config import Settings
from cruddur.observability.lifecycle import Drain, Status, tell_undelivered
from cruddur.observability.logs import current_ids, rate_limit
from cruddur.observability.redact import is_secret, redact_url

EXTENSION = "cruddur.rollbar"
BACKEND_DIR = Path(__file__).resolve().parents[2]
# A hanging Rollbar holds the sending thread this long (connect, then read) per item.
SEND_TIMEOUT_S = 3
QUEUE_CAPACITY = 100


class Reporter(logging.Filter):
    """Queues one app's items and posts them from its own thread. The SDK tells a failed post
    only by logging it: as a filter on its logger, ahead of the rate limit, this counts them."""

    def __init__(self, settings: Settings, sdk):
        super().__init__()
        self.settings, self.sdk = settings, sdk
        self.drain = Drain(self._post, QUEUE_CAPACITY, "rollbar-sender")
        self.reported = self.failed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and threading.current_thread() is self.drain.thread:
            self.failed += 1
        return True

    def report_message(self, message: str, level: str) -> None:
        self.sdk.report_message(message, level, request)

    def report_exception(self, sender: Flask, exception: BaseException, **_) -> None:
        self.sdk.report_exc_info((type(exception), exception, exception.__traceback__), request)

    def enqueue(self, payload: dict) -> None:
        self.reported += 1
        self.drain.put(payload)

    def _post(self, payload: dict) -> None:
        try:
            self.sdk.send_payload(payload, self.settings.rollbar_access_token)
        except Exception:  # the SDK logs what failed (counted by filter); the thread goes on
            self.failed += 1

    def stop(self, timeout_s: float) -> None:
        unsent = self.drain.stop(timeout_s)
        logging.getLogger("rollbar").removeFilter(self)
        tell_undelivered("rollbar", self.failed + self.drain.dropped + unsent, self.reported, "items",
                         f" ({self.failed} failed, {self.drain.dropped} dropped from a full queue, {unsent} unsent "
                         f"after {timeout_s}s at exit)")


def queue_payload(payload: dict, **_) -> dict | bool:
    """The SDK's payload hook: in an app it completes the item and queues it; on the
    sending thread (no app) it lets the item go on to be posted."""
    if not has_app_context():
        return payload
    reporter = current_app.extensions.get(EXTENSION)
    if reporter is None:  # this app has Rollbar off, though an earlier one set the SDK up
        return False
    # The token travels in the X-Rollbar-Access-Token header; in the body it would be one more copy.
    payload.pop("access_token", None)
    if has_request_context():
        data = payload["data"]
        route = request.url_rule.rule if request.url_rule else None
        data.update(framework="flask", context=route,
                    person={"id": current_app.extensions["cruddur.settings"].current_user_handle})
        data.setdefault("request", {}).update(route=route, url=redact_url(data["request"].get("url", "")))
        data.setdefault("custom", {})["trace_id"] = current_ids()[0]
    reporter.enqueue(payload)
    return False


def reporter() -> Reporter | None:
    return current_app.extensions.get(EXTENSION)  # None when Rollbar is off


def init_app(app: Flask, settings: Settings, telemetry) -> Status:
    if not settings.rollbar_access_token:
        return Status(False, "set ROLLBAR_ACCESS_TOKEN to report errors")
    import rollbar
    from rollbar.lib.transforms.scrub import ScrubTransform

    class ScrubSecrets(ScrubTransform):
        """Masks every field whose name the secret policy calls secret (headers, form, query)."""

        def in_scrub_fields(self, key) -> bool:
            return bool(key) and is_secret(str(key[-1]))

    endpoint = settings.rollbar_endpoint or rollbar.DEFAULT_ENDPOINT
    rollbar.init(settings.rollbar_access_token, settings.rollbar_environment, endpoint=endpoint,
                 root=str(BACKEND_DIR),
                 scrub_fields=[], custom_transforms=[ScrubSecrets()],  # one policy, as for logs and spans
                 allow_logging_basic_config=False,  # logs.py owns logging
                 handler="blocking", timeout=SEND_TIMEOUT_S,  # on Reporter's thread
                 # Locals can hold raw bodies and tokens under names no scrub list knows.
                 locals={"enabled": False},
                 # The SDK would log the whole payload on a 429 or 413.
                 log_payload_on_error=False, suppress_reinit_warning=True)
    # A second `init` in one process merges the options above but keeps the first token and
    # environment; the SDK's SETTINGS is meant to be overridden directly.
    rollbar.SETTINGS.update(access_token=settings.rollbar_access_token, environment=settings.rollbar_environment)
    rollbar.events.add_payload_handler(queue_payload)  # added once: the SDK skips duplicates
    rate_limit("rollbar")  # one line a minute while Rollbar is away, not one per item
    app.extensions[EXTENSION] = rollbar_reporter = Reporter(settings, rollbar)
    logging.getLogger("rollbar").filters.insert(0, rollbar_reporter)
    got_request_exception.connect(rollbar_reporter.report_exception, app)
    telemetry.starters.append(rollbar_reporter.drain.thread.start)
    telemetry.stoppers.append(rollbar_reporter.stop)
    return Status(True, f"environment {settings.rollbar_environment}, items to {redact_url(endpoint)}")
