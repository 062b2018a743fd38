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
from collections.abc import Callable
from dataclasses import asdict, dataclass

from flask import Flask

from cruddur.config import Settings

TELEMETRY = "cruddur.telemetry"
INTEGRATIONS = "cruddur.integrations"
# A header or query parameter whose name contains one of these (any case) holds a secret:
# its value is never logged or traced.
SENSITIVE_NAMES = ("auth", "cookie", "token", "key", "secret", "session", "password", "honeycomb")

logger = logging.getLogger("cruddur.observability")


@dataclass(frozen=True)
class Status:
    """Whether an integration is on, and a reason a person can act on (never a secret)."""

    enabled: bool
    detail: str


class Telemetry:
    """Starts the integrations' background work once per process and flushes it at exit."""

    def __init__(self) -> None:
        self._starters: list[Callable[[], None]] = []
        self._stoppers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.started = False

    def on_start(self, starter: Callable[[], None]) -> None:
        self._starters.append(starter)

    def on_shutdown(self, stopper: Callable[[], None]) -> None:
        """Flush and stop; called in order of registration (logging first, see logs.py)."""
        self._stoppers.append(stopper)

    def start(self) -> None:
        with self._lock:
            if self.started:
                return
            self.started = True
            for starter in self._starters:
                starter()
            atexit.register(self.shutdown)

    def shutdown(self) -> None:
        atexit.unregister(self.shutdown)
        with self._lock:
            stoppers, self._stoppers = self._stoppers, []
        for stopper in stoppers:
            try:
                stopper()
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
