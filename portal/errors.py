"""One error shape for the API (``{"error", "details"}``) and plain pages for the browser."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
_NAMED = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.S)


class APIError(Exception):
    """An error the client caused or must know about; becomes a JSON 4xx/5xx."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors keyed by the dotted field path the client sent."""
    details: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if not path:
            # Cross-field checks say which field they blame as "field: message".
            named = _NAMED.match(message)
            path, message = (named.group(1), named.group(2)) if named else ("body", message)
        details.setdefault(path, message)
    return details


def validation_error(exc: ValidationError) -> APIError:
    details = field_errors(exc)
    fields = ", ".join(details)
    return APIError(400, f"invalid value for {fields}", details)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None):
    if wants_json():
        response = jsonify(error=message, details=details or {})
    else:
        response = render_template("error.html", status=status, message=message)
    return response, status, headers or {}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def handle_api_error(exc: APIError):
        return error_response(exc.status, exc.message, exc.details, exc.headers)

    @app.errorhandler(ValidationError)
    def handle_validation_error(exc: ValidationError):
        err = validation_error(exc)
        return error_response(err.status, err.message, err.details)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        headers = dict(exc.get_headers()) if exc.code == 405 else {}
        headers.pop("Content-Type", None)
        if exc.code == 413:  # werkzeug's wording names no field
            limit = current_app.config["MAX_CONTENT_LENGTH"] // 1024
            return error_response(413, f"request body larger than {limit} KiB",
                                  {"body": f"at most {limit} KiB"})
        return error_response(exc.code or 500, exc.description or exc.name, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error; the details are in the server log")
