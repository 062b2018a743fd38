"""Observability, OpenTelemetry its spine: otel (Honeycomb), xray, cloudwatch, rollbar and metrics, each with
one init_app saying whether it is on and why; logs (JSON lines), redact (the one secret policy),
sigv4 (AWS's OTLP endpoints). The SDKs' state is per process, as their documentation sets it up:
a process's first app (in gunicorn, each worker's, after the fork) configures it, and every app
is instrumented with it.
"""
import logging

import rollbar as rollbar_sdk
from flask import Flask
from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.metrics import get_meter_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from cruddur.config import Settings
from cruddur.observability import cloudwatch, logs, metrics, otel, rollbar, xray

INTEGRATIONS = "cruddur.integrations"

logger = logging.getLogger(__name__)


def init_app(app: Flask, settings: Settings) -> None:
    first_app = not isinstance(trace.get_tracer_provider(), TracerProvider)
    # In this order: Flask runs before_request hooks in the order they are added, after_request
    # ones in reverse. The request's span comes first, so X-Ray roots its segment in its trace,
    # and every log line of the request, the access line included, carries its trace id.
    logs.init_app(app, first_app, settings.failure_log_interval_s)
    statuses = {"opentelemetry": otel.init_app(app, settings, first_app),
                "xray": xray.init_app(app, settings, first_app),
                "cloudwatch": cloudwatch.init_app(app, settings, first_app),
                "rollbar": rollbar.init_app(app, settings, first_app),
                # After cloudwatch: its log route carries the EMF lines.
                "metrics": metrics.init_app(app, settings, first_app)}
    app.extensions[INTEGRATIONS] = {name: "on" if on else "off" for name, (on, _) in statuses.items()}
    for name, (on, detail) in statuses.items():
        logger.info("%s: %s (%s)", name, "on" if on else "off", detail,
                    extra={"integration": name, "enabled": on, "detail": detail})


def shutdown() -> None:
    """gunicorn's worker_exit: each SDK sends what it holds, then stops, one after the other, each
    within its own timeout: Rollbar's items 2 s, the last metrics 3 s and their EMF documents 2 s, Honeycomb's
    spans 3 s, X-Ray's and CloudWatch's OTLP exports 2 s each, watchtower's queue 2 s; 14 s at most, inside
    gunicorn's graceful_timeout."""
    if rollbar_sdk.SETTINGS["access_token"]:  # Rollbar is on: its items in flight end within their timeout
        rollbar_sdk.wait()
    # The meter provider first: its last interval becomes EMF lines that watchtower then sends.
    for provider in (get_meter_provider(), trace.get_tracer_provider(), get_logger_provider()):
        if isinstance(provider, (MeterProvider, TracerProvider, LoggerProvider)):
            provider.shutdown()
    for handler in logging.getLogger().handlers:
        handler.close()  # watchtower's sends what it has queued
