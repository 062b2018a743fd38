"""Observability, with OpenTelemetry as the spine. What each part owns:

- `otel`: the request's span and trace id, the SDK configured from its own variables;
- `xray`: the journal's X-Ray route (SDK middleware, route subsegments, UDP to the daemon);
- `cloudwatch`: the journal's CloudWatch Logs route (watchtower);
- `rollbar`: error reports, posted through a bounded queue;
- `logs`: JSON lines with the trace id for every record, the access line, the SDKs' rate limit;
- `redact`: the one secret policy; `lifecycle`: statuses and the flush at exit.

Each integration has one `init_app` that returns whether it is on and why. Routes and
services use this package; it uses neither.
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
        logger.info("%s: %s (%s)", name, "on" if status.enabled else "off", status.detail,
                    extra={"fields": {"integration": name, **asdict(status)}})
