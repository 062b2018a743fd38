"""Observability: OpenTelemetry (Honeycomb), AWS X-Ray, CloudWatch Logs and Rollbar.

Each integration lives in its own module with one `init_app(app, settings)` that
returns whether it is on and why. Nothing here starts a thread or opens a socket
while the app is built: background work (exporters, log shipping) is registered
with `Telemetry` and started by the first request, i.e. inside the gunicorn
worker after the fork, and flushed when that process exits.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from flask import Flask

from cruddur.config import Settings

TELEMETRY = "cruddur.telemetry"
INTEGRATIONS = "cruddur.integrations"
# A header or query parameter whose name contains one of these (any case) holds a secret:
# its value is never logged or traced.
SENSITIVE_NAMES = ("auth", "cookie", "token", "key", "secret", "session", "password", "honeycomb")

# gunicorn's graceful_timeout is 10 s, from SIGTERM to SIGKILL: a worker takes up to a second
# to notice the signal and finishes its last requests first.
SHUTDOWN_TIMEOUT_S = 7
# After its timeout, a stopper gets this long to log what it could not deliver.
REPORT_MARGIN_S = 0.5

logger = logging.getLogger("cruddur.observability")


@dataclass(frozen=True)
class Status:
    """Whether an integration is on, and a reason a person can act on (never a secret)."""

    enabled: bool
    detail: str


class OncePerInterval(logging.Filter):
    """Lets one record through per `seconds`, so an outage is told, not repeated per batch or item.

    The record let through says how many like it were held back since the last one, and
    loses its traceback: an SDK's failure to reach its service is told in one line.
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self._last: float | None = None
        self._held_back = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.seconds:
            self._held_back += 1
            return False
        if self._held_back:
            record.msg, record.args = f"{record.getMessage()} ({self._held_back} more like this held back)", ()
        self._last, self._held_back = now, 0
        record.exc_info = record.exc_text = None
        return True


class Telemetry:
    """Starts the integrations' background work once per process and flushes it at exit.

    At exit, the drains run first, one after another (the log queue hands its records
    to the handlers that ship them); then the stoppers run side by side, so a service
    that is down or hanging costs its own timeout, not the sum of everyone's, and all
    of them are done within SHUTDOWN_TIMEOUT_S plus REPORT_MARGIN_S, inside gunicorn's
    graceful_timeout.
    """

    def __init__(self) -> None:
        self._starters: list[Callable[[], None]] = []
        self._drains: list[Callable[[], None]] = []
        self._stoppers: list[Callable[[float], None]] = []
        self._lock = threading.Lock()
        self.started = False

    def on_start(self, starter: Callable[[], None]) -> None:
        self._starters.append(starter)

    def on_drain(self, drain: Callable[[], None]) -> None:
        """`drain()` runs at exit before any stopper; it must not wait on the network."""
        self._drains.append(drain)

    def on_shutdown(self, stopper: Callable[[float], None]) -> None:
        """`stopper(timeout_s)` flushes within `timeout_s` and logs what it could not deliver."""
        self._stoppers.append(stopper)

    def start(self) -> None:
        with self._lock:
            if self.started:
                return
            for starter in self._starters:
                starter()
            atexit.register(self.shutdown)
            # Set last: a request that finds it set must find everything started (gthread
            # workers serve their first requests side by side).
            self.started = True

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
        atexit.unregister(self.shutdown)
        with self._lock:
            drains, self._drains = self._drains, []
            stoppers, self._stoppers = self._stoppers, []
        deadline = time.monotonic() + timeout_s + REPORT_MARGIN_S
        for drain in drains:
            _log_failure(drain)
        # Daemon threads: one still waiting on a hung service when the deadline passes is
        # left behind, and the process exits without it.
        threads = [threading.Thread(target=_log_failure, args=(stopper, timeout_s), daemon=True,
                                    name=f"telemetry-shutdown-{getattr(stopper, '__qualname__', stopper)}")
                   for stopper in stoppers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def finished_within(step: Callable[[], object], timeout_s: float, name: str) -> bool:
    """Runs `step` on a daemon thread and waits at most `timeout_s`: False if it is still running.

    For SDK calls that take no timeout of their own and can wait on a hung service for long.
    """
    thread = threading.Thread(target=step, name=name, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return not thread.is_alive()


def _log_failure(step: Callable[..., None], *args) -> None:
    try:
        step(*args)
    except Exception:
        logger.exception("telemetry shutdown step failed")


def init_app(app: Flask, settings: Settings) -> None:
    # Imported here so each integration's SDK loads only with the app that uses it.
    from cruddur.observability import cloudwatch, logs, otel, rollbar, xray

    telemetry = Telemetry()
    app.extensions[TELEMETRY] = telemetry

    @app.before_request
    def start_telemetry() -> None:
        if not telemetry.started:
            telemetry.start()

    logs.init_app(app, settings)
    statuses = {
        "opentelemetry": otel.init_app(app, settings),
        "xray": xray.init_app(app, settings),
        "cloudwatch": cloudwatch.init_app(app, settings),
        "rollbar": rollbar.init_app(app, settings),
    }
    app.extensions[INTEGRATIONS] = {name: asdict(status) for name, status in statuses.items()}
    for name, status in statuses.items():
        logger.info("%s: %s (%s)", name, "on" if status.enabled else "off", status.detail,
                    extra={"fields": {"integration": name, "enabled": status.enabled}})
