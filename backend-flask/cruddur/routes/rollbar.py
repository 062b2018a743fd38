"""GET /rollbar/test, the journal's check that Rollbar receives what the backend reports."""
import math

from flask import Blueprint, Response, abort, current_app

from cruddur.errors import error_response
from cruddur.observability import rollbar
from cruddur.observability.logs import OncePerInterval

bp = Blueprint("rollbar", __name__)

# At most one report per worker this often, so the route cannot flood Rollbar.
TEST_REPORT_INTERVAL_S = 10
INTERVAL = "cruddur.rollbar_test_interval"


@bp.get("/rollbar/test")
def rollbar_test():
    reporter = rollbar.reporter()
    if reporter is None:  # the route exists either way, as openapi-3.0.yml says: other methods get 405
        abort(404)
    wait_s = current_app.extensions.setdefault(INTERVAL, OncePerInterval(TEST_REPORT_INTERVAL_S)).wait_s()
    if wait_s:
        response, status = error_response(429, ["rate_limited"])
        response.headers["Retry-After"] = str(math.ceil(wait_s))
        return response, status
    reporter.report_message("Hello World!", "warning")
    return Response("Hello World!", mimetype="text/plain")
