"""CloudWatch Logs: the app's JSON log lines shipped to a log group by watchtower."""
from __future__ import annotations

from flask import Flask

from cruddur.config import Settings
from cruddur.observability import Status


def init_app(app: Flask, settings: Settings) -> Status:
    if not settings.cloudwatch_log_group:
        return Status(False, "set CLOUDWATCH_LOG_GROUP (e.g. cruddur) to ship logs")
    return Status(False, "not wired yet")
