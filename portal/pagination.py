"""One page of a query, with the total, in the shape every list endpoint returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select

from portal.extensions import db


def paginate(query: Select, page: int, per_page: int, serialize: Callable[[Any], Any], *,
             rows: bool = False) -> dict:
    """``rows=True`` hands ``serialize`` plain result rows instead of ORM objects (cheaper)."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    limited = query.limit(per_page).offset((page - 1) * per_page)
    found = db.session.execute(limited).all() if rows else db.session.scalars(limited).all()
    return {
        "items": [serialize(row) for row in found],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": max(1, -(-total // per_page)),
    }
