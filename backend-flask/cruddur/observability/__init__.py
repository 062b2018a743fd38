"""Observability, with OpenTelemetry as the spine: `otel` (spans), `xray`, `cloudwatch`,
`rollbar`, `logs` (JSON lines), `redact` (the one secret policy), `lifecycle` (start and exit).
Each module's docstring says what it owns, and each integration's `init_app` returns whether
it is on and why. Routes and services use this package; it uses neither.
"""

import logging
from dataclasses import asdict

from flask import Flask

from cruddur.config import Settings
from cruddur.observability import cloudwatch, logs, otel, rollbar, xray
from cruddur.observability.lifecycle import Telemetry

TELEMETRY = "cruddur.telemetry"
INTEGRATIONS = "cruddur.integrations"

logger = logging.getLogger(__name__)


def init_app(app: Flask, settings: Settings) -> None:
    telemetry = app.extensions[TELEMETRY] = Telemetry()

    @app.before_request
    def start_telemetry() -> None:
        if not telemetry.started:
            telemetry.start()

    log_handler = logs.init_app(app, telemetry)
    # The order matters, and is set here: Flask runs before_request hooks in the order they
    # are registered and after_request and teardown hooks in reverse. OpenTelemetry's span
    # comes first, so X-Ray can root its segment in the span's trace id and every log line
    # of the request, the access line included, carries that id.
    statuses = {
        "opentelemetry": otel.init_app(app, settings, telemetry),
        "xray": xray.init_app(app, settings),
        "cloudwatch": cloudwatch.init_app(app, settings, telemetry, log_handler),
        "rollbar": rollbar.init_app(app, settings, telemetry),
    }
    app.extensions[INTEGRATIONS] = {name: "on" if status.enabled else "off" for name, status in statuses.items()}
    for name, status in statuses.items():
        logger.info("%s: %s (%s)", name, app.extensions[INTEGRATIONS][name], status.detail,
                    extra={"fields": {"integration": name, **asdict(status)}})
