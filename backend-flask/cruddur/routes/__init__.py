"""Blueprints: a route reads the request, calls its service and returns the result."""
from __future__ import annotations

import json

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from cruddur.config import Settings
from cruddur.errors import ApiError


def settings() -> Settings:
    return current_app.extensions["cruddur.settings"]


def current_user_handle() -> str:
    """The signed-in user; configurable until authentication exists."""
    return settings().current_user_handle


def json_object() -> dict:
    """The request body as a JSON object, or a 4xx that says what is wrong with it."""
    if not request.is_json:
        raise ApiError(415, ["content_type_not_json"])
    raw = request.get_data(cache=True)
    # A body with no Content-Length (chunked) is read up to the limit and no further, not refused.
    if request.content_length is None and len(raw) >= request.max_content_length:
        raise RequestEntityTooLarge()
    if not raw.strip():
        raise ApiError(400, ["body_blank"])
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, ["body_malformed_json"]) from None
    if not isinstance(body, dict):
        raise ApiError(400, ["body_not_object"])
    return body
