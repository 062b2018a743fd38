from flask import Blueprint, current_app

from cruddur.observability import INTEGRATIONS

bp = Blueprint("health", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    # Public: on or off for each integration and nothing more; the details are in the start-up lines.
    return {"status": "ok", "integrations": current_app.extensions[INTEGRATIONS]}
