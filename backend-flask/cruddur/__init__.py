"""Cruddur's Flask application factory."""
from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from flask_cors import CORS

from cruddur import observability, store
from cruddur.config import load_settings
from cruddur.errors import register_error_handlers
from cruddur.routes import activities, health, messages, rollbar

CORS_METHODS = ["OPTIONS", "GET", "HEAD", "POST"]
CORS_HEADERS = ["content-type", "if-modified-since", "traceparent", "tracestate"]
# Let the browser read the ids that find this request in Honeycomb and X-Ray.
CORS_EXPOSE_HEADERS = ["X-Trace-Id", "X-Amzn-Trace-Id"]
# Every fetch carries traceparent, so each needs a preflight: the browser may reuse one
# answer for 10 minutes (Chromium caps it at 2 hours, Firefox at 24).
CORS_MAX_AGE = 600


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment; `overrides` (env-style names) win over it."""
    settings = load_settings(overrides)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    # FLASK_DEBUG=1 sets app.debug, which would let an unhandled exception escape to gunicorn
    # (its HTML 500 page and plain traceback): errors answer in the API's JSON whatever the mode.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.json.sort_keys = False
    app.extensions["cruddur.settings"] = settings

    observability.init_app(app, settings)
    store.init_app(app, settings)  # after observability, which instruments SQLAlchemy
    CORS(app, resources={r"/api/*": {"origins": settings.cors_origins}},
         methods=CORS_METHODS, allow_headers=CORS_HEADERS, expose_headers=CORS_EXPOSE_HEADERS,
         max_age=CORS_MAX_AGE)
    register_error_handlers(app)
    for blueprint in (activities.bp, messages.bp, health.bp, rollbar.bp):
        app.register_blueprint(blueprint)
    return app
