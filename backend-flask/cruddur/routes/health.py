from flask import Blueprint, current_app

bp = Blueprint("health", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    return {"status": "ok", "integrations": current_app.extensions["cruddur.integrations"]}
