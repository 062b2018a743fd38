"""Cruddur's one place for configuration: everything is read from the environment once.

Variable names are the ones docker-compose.yml sets, and the OpenTelemetry and AWS
standard ones where such exist. Secrets are kept out of repr() so they never reach a log.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    frontend_url: str | None = None
    backend_url: str | None = None
    current_user_handle: str = "andrewbrown"
    max_content_length: int = 1024 * 1024
    # The store: SQLite in the instance folder when unset. Out of repr(): it may hold a password.
    database_url: str | None = field(default=None, repr=False)

    # OpenTelemetry: OTLP/HTTP to Honeycomb when an endpoint is set, console spans otherwise.
    otel_service_name: str = "backend-flask"
    otel_endpoint: str | None = None
    otel_headers: str | None = field(default=None, repr=False)
    otel_traces_exporters: frozenset[str] = frozenset()
    otel_schedule_delay_ms: int = 5000
    otel_max_queue_size: int = 2048
    otel_max_export_batch_size: int = 512
    otel_export_timeout_ms: int = 10000

    # AWS X-Ray: on when a daemon address is set and the SDK is not disabled.
    xray_daemon_address: str | None = None
    xray_sdk_enabled: bool = True
    xray_url: str | None = None
    xray_sampling_rule_file: Path = REPO_ROOT / "aws" / "json" / "xray.json"

    # CloudWatch Logs: on when a log group is set; boto3 finds credentials, region and endpoint.
    cloudwatch_log_group: str | None = None

    # Rollbar: on when an access token is set.
    rollbar_access_token: str | None = field(default=None, repr=False)
    rollbar_environment: str = "production"
    rollbar_endpoint: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def text(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        def number(name: str, default: int) -> int:
            value = text(name)
            try:
                return int(value) if value else default
            except ValueError:
                raise ValueError(f"{name} must be a whole number, not {value!r}") from None

        defaults = cls()
        exporters = text("OTEL_TRACES_EXPORTER")
        return cls(
            frontend_url=text("FRONTEND_URL"),
            backend_url=text("BACKEND_URL"),
            current_user_handle=text("CRUDDUR_USER_HANDLE") or defaults.current_user_handle,
            database_url=text("DATABASE_URL") or text("CONNECTION_URL"),  # the bootcamp's name, as an alias
            otel_service_name=text("OTEL_SERVICE_NAME") or defaults.otel_service_name,
            otel_endpoint=text("OTEL_EXPORTER_OTLP_ENDPOINT"),
            otel_headers=text("OTEL_EXPORTER_OTLP_HEADERS"),
            otel_traces_exporters=frozenset(e.strip() for e in exporters.split(",")) if exporters else frozenset(),
            otel_schedule_delay_ms=number("OTEL_BSP_SCHEDULE_DELAY", defaults.otel_schedule_delay_ms),
            otel_max_queue_size=number("OTEL_BSP_MAX_QUEUE_SIZE", defaults.otel_max_queue_size),
            otel_max_export_batch_size=number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", defaults.otel_max_export_batch_size),
            otel_export_timeout_ms=number("OTEL_BSP_EXPORT_TIMEOUT", defaults.otel_export_timeout_ms),
            xray_daemon_address=text("AWS_XRAY_DAEMON_ADDRESS"),
            xray_sdk_enabled=(text("AWS_XRAY_SDK_ENABLED") or "true").lower() != "false",
            xray_url=text("AWS_XRAY_URL"),
            xray_sampling_rule_file=Path(text("AWS_XRAY_SAMPLING_RULE_FILE") or defaults.xray_sampling_rule_file),
            cloudwatch_log_group=text("CLOUDWATCH_LOG_GROUP"),
            rollbar_access_token=text("ROLLBAR_ACCESS_TOKEN"),
            rollbar_environment=text("ROLLBAR_ENVIRONMENT") or defaults.rollbar_environment,
            rollbar_endpoint=text("ROLLBAR_ENDPOINT"),
        )

    @property
    def cors_origins(self) -> list[str]:
        """Origins allowed to call the API; unset URLs are left out rather than sent as None."""
        return [url.rstrip("/") for url in (self.frontend_url, self.backend_url) if url]


def load_settings(overrides: Mapping[str, str] | None = None) -> Settings:
    """Settings from the process environment, with `overrides` (env-style names) on top."""
    return Settings.from_env({**os.environ, **(overrides or {})})
