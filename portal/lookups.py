"""Fetching a row by id for a route, or answering 404 in the API's error shape."""

from __future__ import annotations

from typing import TypeVar

from portal.errors import APIError
from portal.extensions import db

M = TypeVar("M")


def get_or_404(model: type[M], ident: int, what: str, field: str = "id") -> M:
    row = db.session.get(model, ident)
    if row is None:
        raise APIError(404, f"no {what} with id {ident}", {field: "not found"})
    return row
