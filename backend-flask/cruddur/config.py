"""Cruddur's one place for configuration: everything is read from the environment once.

Variable names are the ones docker-compose.yml sets, and the OpenTelemetry and AWS
standard ones where such exist. Secrets are kept out of repr() so they never reach a log.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.util.re import parse_env_headers
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cruddur import data

REPO_ROOT = Path(__file__).resolve().parents[2]
# The stores Cruddur has drivers for (the store maps postgresql:// and postgres:// to psycopg 3).
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")


class ConfigError(ValueError):
    """A setting that Cruddur cannot start with; its message names the variable."""


@dataclass(frozen=True)
class Settings:
    frontend_url: str | None = None
    backend_url: str | None = None
    current_user_handle: str = "andrewbrown"
    max_content_length: int = 1024 * 1024
    # The store: SQLite in the instance folder when unset. Out of repr(): it may hold a password.
    database_url: str | None = field(default=None, repr=False)

    # OpenTelemetry's variables are read by its SDK; these few only choose Cruddur's defaults
    # and its start-up line.
    otel_sdk_disabled: bool = False
    otel_traces_exporter: str | None = None
    otlp_traces_endpoint: str | None = None
    otlp_header_names: tuple[str, ...] = ()
    otel_flask_excluded_urls: str | None = None
    otel_metrics_exporter: str | None = None
    otlp_metrics_endpoint: str | None = None
    otlp_metrics_header_names: tuple[str, ...] = ()

    # AWS X-Ray: `daemon` (the journal's SDK route), `otlp` (spans to X-Ray's OTLP endpoint) or
    # `collector`; unset, `daemon` when a daemon address is set and off otherwise. Kept as given
    # when it is none of these, so xray.py can say so at start.
    xray_export: str | None = None
    xray_daemon_address: str | None = None
    xray_url: str | None = None
    xray_sampling_rule_file: Path = REPO_ROOT / "aws" / "json" / "xray.json"

    # CloudWatch Logs: `watchtower` (the journal's route) or `otlp` (the logs endpoint); unset,
    # `watchtower` when a log group is set. boto3 finds credentials, region and endpoint.
    cloudwatch_logs_export: str | None = None
    cloudwatch_log_group: str | None = None
    # The otlp route writes to one stream that must exist, shared by the workers.
    cloudwatch_log_stream: str = "backend-flask"
    # watchtower sends a batch this often; while CloudWatch is away a worker holds at most this many lines.
    cloudwatch_send_interval_s: float = 5
    cloudwatch_max_queued_lines: int = 10_000
    # Metrics as CloudWatch's embedded metric format, in the watchtower route's log lines.
    cloudwatch_metrics: bool = True

    # Rollbar: on when an access token is set.
    rollbar_access_token: str | None = field(default=None, repr=False)
    rollbar_environment: str = "production"
    rollbar_endpoint: str | None = None
    # At most this many items begin their send in any 6 s (two send timeouts), so at most this
    # many are on their way while Rollbar is slow; more are dropped.
    rollbar_max_pending_items: int = 100
    # GET /rollbar/test reports at most once per this many seconds per worker.
    rollbar_test_interval_s: float = 10

    # An SDK that cannot reach its service says so once per this many seconds.
    failure_log_interval_s: float = 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def text(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        def number(name: str, default: float) -> float:
            try:
                value = float(text(name) or default)
            except ValueError:
                value = -1
            if value < 0:
                raise ConfigError(f"{name} is {text(name)!r}: use a number, 0 or more")
            return value

        defaults = cls()
        endpoint = text("OTEL_EXPORTER_OTLP_ENDPOINT")
        headers = text("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or text("OTEL_EXPORTER_OTLP_HEADERS") or ""
        metrics_headers = text("OTEL_EXPORTER_OTLP_METRICS_HEADERS") or text("OTEL_EXPORTER_OTLP_HEADERS") or ""
        database_variable = "DATABASE_URL" if text("DATABASE_URL") else "CONNECTION_URL"
        if database_url := text(database_variable):
            try:
                scheme = make_url(database_url).drivername
            except ArgumentError:
                scheme = None
            if scheme not in DATABASE_SCHEMES:  # only the scheme is told: the URL may hold a password
                raise ConfigError(f"{database_variable} is not a URL of SQLite or PostgreSQL (its scheme: "
                                  f"{scheme or 'none'}): use sqlite:///<file> or "
                                  "postgresql://<user>:<password>@<host>/<database>")
        handle = text("CRUDDUR_USER_HANDLE") or defaults.current_user_handle
        if handle not in data.USERS:
            raise ConfigError(f"CRUDDUR_USER_HANDLE is {handle!r}, which is no user: use one of {', '.join(data.USERS)}")
        return cls(
            frontend_url=text("FRONTEND_URL"),
            backend_url=text("BACKEND_URL"),
            current_user_handle=handle,
            database_url=database_url,  # CONNECTION_URL, the bootcamp's name, as an alias
            otel_sdk_disabled=(text("OTEL_SDK_DISABLED") or "").lower() == "true",
            otel_traces_exporter=text("OTEL_TRACES_EXPORTER"),
            # The signal's own variable wins, as the SDK's exporter does it.
            otlp_traces_endpoint=text("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
                endpoint and endpoint.rstrip("/") + "/v1/traces"),
            otlp_header_names=tuple(sorted(parse_env_headers(headers, liberal=True))),
            otel_flask_excluded_urls=text("OTEL_PYTHON_FLASK_EXCLUDED_URLS") or text("OTEL_PYTHON_EXCLUDED_URLS"),
            otel_metrics_exporter=text("OTEL_METRICS_EXPORTER"),
            otlp_metrics_endpoint=text("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or (
                endpoint and endpoint.rstrip("/") + "/v1/metrics"),
            otlp_metrics_header_names=tuple(sorted(parse_env_headers(metrics_headers, liberal=True))),
            xray_export=(text("XRAY_EXPORT") or ("daemon" if text("AWS_XRAY_DAEMON_ADDRESS") else "")).lower() or None,
            xray_daemon_address=text("AWS_XRAY_DAEMON_ADDRESS"),
            xray_url=text("AWS_XRAY_URL"),
            xray_sampling_rule_file=Path(text("AWS_XRAY_SAMPLING_RULE_FILE") or defaults.xray_sampling_rule_file),
            cloudwatch_logs_export=(text("CLOUDWATCH_LOGS_EXPORT")
                                    or ("watchtower" if text("CLOUDWATCH_LOG_GROUP") else "")).lower() or None,
            cloudwatch_log_group=text("CLOUDWATCH_LOG_GROUP"),
            cloudwatch_log_stream=text("CLOUDWATCH_LOG_STREAM") or defaults.cloudwatch_log_stream,
            rollbar_access_token=text("ROLLBAR_ACCESS_TOKEN"),
            rollbar_environment=text("ROLLBAR_ENVIRONMENT") or defaults.rollbar_environment,
            rollbar_endpoint=text("ROLLBAR_ENDPOINT"),
            cloudwatch_send_interval_s=number("CLOUDWATCH_SEND_INTERVAL", defaults.cloudwatch_send_interval_s),
            cloudwatch_metrics=(text("CLOUDWATCH_METRICS") or "true").lower() != "false",
            cloudwatch_max_queued_lines=int(number("CLOUDWATCH_MAX_QUEUED_LINES", defaults.cloudwatch_max_queued_lines)),
            rollbar_max_pending_items=int(number("ROLLBAR_MAX_PENDING_ITEMS", defaults.rollbar_max_pending_items)),
            rollbar_test_interval_s=number("ROLLBAR_TEST_INTERVAL", defaults.rollbar_test_interval_s),
            failure_log_interval_s=number("TELEMETRY_FAILURE_LOG_INTERVAL", defaults.failure_log_interval_s),
        )

    @property
    def otlp_traces_url(self) -> str:
        """Where the otlp span exporter sends: the SDK's default when no endpoint is set."""
        return self.otlp_traces_endpoint or "http://localhost:4318/v1/traces"

    @property
    def otlp_metrics_url(self) -> str:
        return self.otlp_metrics_endpoint or "http://localhost:4318/v1/metrics"

    @property
    def cors_origins(self) -> list[str]:
        """Origins allowed to call the API; unset URLs are left out rather than sent as None."""
        return [url.rstrip("/") for url in (self.frontend_url, self.backend_url) if url]


def load_settings(overrides: Mapping[str, str] | None = None) -> Settings:
    """Settings from the process environment, with `overrides` (env-style names) on top."""
    return Settings.from_env({**os.environ, **(overrides or {})})
