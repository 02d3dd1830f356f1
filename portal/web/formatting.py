"""Times as pages write them: in the configured time zone, or as a rough age."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy.exc import SQLAlchemyError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.web.context import current_settings


def _as_datetime(value: datetime | str | float | None) -> datetime | None:
    """Datetimes as models hold them, ISO strings as serializers write them, or epoch seconds."""
    if isinstance(value, datetime) or value is None:
        return value
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def localtime(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp in the portal's configured time zone (looked up once per request)."""
    value = _as_datetime(value)
    if value is None:
        return "never"
    zone = g.get("display_zone")
    if zone is None:
        zone = g.display_zone = ZoneInfo(current_settings().timezone)
    return value.astimezone(zone).strftime(fmt)


def ago(value: datetime | str | None) -> str:
    """Rough age for humans: "42 s ago", "3 min ago", "5 h ago", "2 d ago"."""
    value = _as_datetime(value)
    if value is None:
        return "never"
    seconds = max(0, int((utcnow() - value).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def display_zone_name() -> str:
    """The configured time zone's name, for scripts that show times (``data-timezone``)."""
    try:
        localtime(utcnow())  # looks the zone up once per request
    except SQLAlchemyError:  # an error page while the database is away still renders
        db.session.rollback()
        return "UTC"
    return g.display_zone.key
