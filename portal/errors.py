"""One error shape for the API (``{"error", "details"}``) and plain pages for the browser."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
_NAMED = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$")


class APIError(Exception):
    """An error the client caused or must know about; becomes a JSON 4xx/5xx."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


# Units a field's name ends in, so a bound reads "at least 10 seconds", not "10".
_UNITS = (("_ms", "ms"), ("_s", "seconds"), ("_min", "minutes"), ("_h", "hours"),
          ("_days", "days"), ("_pct", "%"))
# Pydantic's own wording ("Input should be greater than or equal to 10") in plain words;
# the bound, where there is one, comes from the error's context.
_PLAIN = {
    "missing": "enter a value",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "string_too_long": "must be at most {max_length} characters",
    "too_long": "must have at most {max_length} items",
    "too_short": "must have at least {min_length} items",
    "int_parsing": "enter a whole number",
    "int_type": "enter a whole number",
    "int_from_float": "enter a whole number",
    "float_parsing": "enter a number",
    "float_type": "enter a number",
    "finite_number": "enter a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "dict_type": "must be an object of names and values",
    "list_type": "must be a list",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "extra_forbidden": "unknown field",
    "datetime_parsing": "enter a date and time, e.g. 2026-01-31T08:00:00+03:00",
    "datetime_from_date_parsing": "enter a date and time, e.g. 2026-01-31T08:00:00+03:00",
    "datetime_type": "enter a date and time, e.g. 2026-01-31T08:00:00+03:00",
    "date_parsing": "enter a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "enter a date as YYYY-MM-DD",
    "date_type": "enter a date as YYYY-MM-DD",
    "time_parsing": "enter a time as HH:MM",
    "json_invalid": "must be valid JSON",
    "url_parsing": "enter a URL starting with http:// or https://",
    "url_scheme": "enter a URL starting with http:// or https://",
}

# A comparison error's bound, by the context key pydantic gives it in.
_BOUNDS = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le",
           "less_than": "lt"}


def _unit(path: str) -> str:
    name = path.rpartition(".")[2]
    return next((f" {unit}" for suffix, unit in _UNITS if name.endswith(suffix)), "")


def plain_message(error: dict, path: str) -> str:
    """One pydantic error in plain words, with the field's unit where its name has one."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must be at least {least} characters"
    template = _PLAIN.get(kind)
    if template is None:
        return str(error["msg"]).removeprefix("Input should be ").removeprefix("Value error, ")
    try:
        message = template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return str(error["msg"])
    if kind in _BOUNDS:
        unit = _unit(path)
        if ctx.get(_BOUNDS[kind]) == 1 and unit not in (" ms", " %"):
            unit = unit.removesuffix("s")  # "at least 1 second"
        message += unit
    if kind in ("literal_error", "enum"):
        message = message.replace("'", "")
    return message


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors keyed by the dotted field path the client sent, in plain words."""
    details: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"])
        message = plain_message(error, path)
        if path:
            details.setdefault(path, message)
            continue
        # Cross-field checks say which field they blame as "field: message", one per line,
        # so one check can blame several fields at once.
        for line in message.splitlines():
            named = _NAMED.match(line)
            name, text = (named.group(1), named.group(2)) if named else ("body", line)
            details.setdefault(name, text)
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
