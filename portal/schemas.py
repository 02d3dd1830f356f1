"""Validation at the edge: request bodies and query strings into pydantic models."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, TypeVar

from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from portal.errors import APIError, validation_error

M = TypeVar("M", bound=BaseModel)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


# A single line of user text: trimmed, without control characters.
Line = Annotated[str, AfterValidator(lambda v: _no_control_chars(v.strip()))]

MAX_ID = 2**63 - 1  # the largest 64-bit database integer
# A row's id as a client sends it. A larger number cannot be an id, and a database driver
# cannot even bind it (SQLite's raises OverflowError): it is a 400 naming the field.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
MAX_PAGE = 1_000_000  # far past the end of any list; keeps the row offset a database integer


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def json_object(*, known: Iterable[str] | None = None) -> dict:
    """The request body as a dict; with ``known``, a field outside it is a 400 naming it."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the parser gives up on deep nesting with this, not ValueError
        raise APIError(400, "request body is nested too deeply",
                       {"body": "nested too deeply"}) from None
    if not isinstance(body, dict):
        raise APIError(400, "request body must be a JSON object", {"body": "expected a JSON object"})
    if known is not None:
        unknown = sorted(set(body) - set(known))
        if unknown:
            raise APIError(400, f"unknown field {unknown[0]}", {k: "unknown field" for k in unknown})
    return body


def parse_json(model: type[M]) -> M:
    body = json_object()
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def parse_query(model: type[M], *, lists: tuple[str, ...] = ()) -> M:
    data: dict[str, object] = {}
    for key in request.args:
        data[key] = request.args.getlist(key) if key in lists else request.args.get(key)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


class PageQuery(Strict):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    per_page: int = Field(50, ge=1, le=200)


def aware(value: datetime, field: str) -> datetime:
    """Query times must carry an offset: a bare time is ambiguous across time zones."""
    if value.tzinfo is None:
        raise APIError(400, f"invalid value for {field}",
                       {field: "needs a UTC offset, e.g. 2026-01-31T08:00:00+03:00"})
    return value


def takes(*, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None):
    """Names the models a route reads when its code does not call ``parse_json`` or
    ``parse_query`` with them (it validates in a service function), so the API docs page
    (``portal.admin.api_reference``) can list their fields. Changes nothing at run time."""
    def mark(view):
        view.api_body, view.api_query = body, query
        return view
    return mark
