"""GET /rollbar/test, the journal's check that Rollbar receives what the backend reports."""
import math

import rollbar
from flask import Blueprint, Response, abort, current_app, request

from cruddur.errors import error_response
from cruddur.observability import INTEGRATIONS
from cruddur.observability.logs import RateLimit

bp = Blueprint("rollbar", __name__)

# At most one report per worker per ROLLBAR_TEST_INTERVAL, so the route cannot flood Rollbar.
INTERVAL = "cruddur.rollbar_test_interval"


@bp.get("/rollbar/test")
def rollbar_test():
    if current_app.extensions[INTEGRATIONS]["rollbar"] == "off":  # the route exists either way: other methods get 405
        abort(404)
    interval = current_app.extensions.setdefault(
        INTERVAL, RateLimit(current_app.extensions["cruddur.settings"].rollbar_test_interval_s))
    if wait_s := interval.wait_s():
        response, status = error_response(429, ["rate_limited"])
        response.headers["Retry-After"] = str(math.ceil(wait_s))
        return response, status
    rollbar.report_message("Hello World!", "warning", request)
    return Response("Hello World!", mimetype="text/plain")
