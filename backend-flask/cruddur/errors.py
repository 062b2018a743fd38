"""One error shape for the whole API: a JSON array of error codes.

The week-2 front end renders a 422 body as a list of codes, so every other
error (404, 405, 413, ...) answers in that same shape.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, got_request_exception, jsonify
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from cruddur.store import UNAVAILABLE

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An expected failure that the client can act on."""

    def __init__(self, status: int, codes: list[str]):
        super().__init__(", ".join(codes))
        self.status = status
        self.codes = codes


class ValidationFailed(ApiError):
    def __init__(self, codes: list[str]):
        super().__init__(422, codes)


class NotFound(ApiError):
    def __init__(self, code: str):
        super().__init__(404, [code])


def _code_for(field: str, error: dict) -> str:
    """Map one pydantic error to the week-2 code style (`message_blank`, ...)."""
    if error["type"] in ("missing", "too_short") or error.get("input") in (None, ""):
        return f"{field}_blank"
    if error["type"] == "string_too_long":
        return f"{field}_exceed_max_chars"
    return f"{field}_invalid"


def validate(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate `data` against `model`, raising ValidationFailed with every error found.

    Codes are prefixed with the field's name (not its alias), so `?term=` reports
    `search_term_blank` when the model field is `search_term`.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        names = {field.alias or name: name for name, field in model.model_fields.items()}
        codes: list[str] = []
        for error in exc.errors():
            code = _code_for(names.get(str(error["loc"][0]), str(error["loc"][0])), error)
            if code not in codes:
                codes.append(code)
        raise ValidationFailed(codes) from exc


def error_response(status: int, codes: list[str]):
    return jsonify(codes), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        return error_response(exc.status, exc.codes)

    def handle_database_unavailable(exc: Exception):
        # Down, refusing, hung past the timeouts, or locked: the client may retry, and the
        # pool reconnects by itself once the database is back.
        # The driver's first line says which: refused, timed out, canceled, locked.
        logger.error("database unavailable: %s", str(exc).partition("\n")[0], exc_info=exc)
        # Handled, so Flask sends no got_request_exception: an outage is still worth an error report.
        got_request_exception.send(current_app._get_current_object(), exception=exc)
        return error_response(503, ["database_unavailable"])

    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, handle_database_unavailable)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        # Unhandled exceptions arrive here as InternalServerError, after Flask has
        # logged them and sent `got_request_exception` to error reporters.
        response, status = error_response(exc.code, [exc.name.lower().replace(" ", "_")])
        if isinstance(exc, MethodNotAllowed):
            response.headers["Allow"] = ", ".join(exc.valid_methods or ())
        return response, status
