"""Rollbar: unhandled exceptions and warnings reported with their request and trace id."""
from __future__ import annotations

from flask import Flask

from cruddur.config import Settings
from cruddur.observability import Status


def init_app(app: Flask, settings: Settings) -> Status:
    if not settings.rollbar_access_token:
        return Status(False, "set ROLLBAR_ACCESS_TOKEN to report errors")
    return Status(False, "not wired yet")
