"""Times as pages write them: in the configured time zone, 24-hour, or as a rough age.

A zone is labelled by its abbreviation ("EAT", "BST"), the same on every page and in
every chart (charts.js reads the abbreviations from ``zone_abbreviations``); a zone that
has none (tzdata writes "+04" for Asia/Dubai) is labelled by its offset, "UTC+04".
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
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


def display_zone() -> ZoneInfo:
    """The configured time zone, looked up once per request."""
    zone = g.get("display_zone")
    if zone is None:
        zone = g.display_zone = ZoneInfo(current_settings().timezone)
    return zone


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation at an aware ``moment`` ("EAT"), or its UTC offset where the
    zone has no abbreviation ("UTC+04", "UTC+05:30", "UTC" itself)."""
    name = moment.tzname() or ""
    if re.fullmatch(r"[A-Za-z]{2,6}", name):
        return name
    offset = moment.utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    if not minutes:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def localtime(value: datetime | str | float | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp in the portal's configured time zone; ``%Z`` in ``fmt`` is the zone's
    label as ``zone_label`` writes it."""
    value = _as_datetime(value)
    if value is None:
        return "never"
    local = value.astimezone(display_zone())
    if "%Z" in fmt:
        fmt = fmt.replace("%Z", zone_label(local))
    return local.strftime(fmt)


def display_zone_label() -> str:
    """The configured zone's label now ("EAT"), for a table's heading."""
    try:
        return zone_label(utcnow().astimezone(display_zone()))
    except SQLAlchemyError:
        db.session.rollback()
        return "UTC"


def seconds_time(value: datetime | str | float | None) -> str:
    """A time for comparing events: "2026-01-31 14:05:09 EAT"."""
    return localtime(value, "%Y-%m-%d %H:%M:%S %Z")


@lru_cache(maxsize=32)
def _abbreviations(zone_key: str, day: str) -> str:
    zone = ZoneInfo(zone_key)
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(days=32)
    labels: dict[int, str] = {}
    for hour in range(34 * 24):  # the longest chart (30 d) and the day ahead, hourly
        local = (start + timedelta(hours=hour)).astimezone(zone)
        offset = local.utcoffset() or timedelta()
        labels.setdefault(int(offset.total_seconds() // 60), zone_label(local))
    return json.dumps(labels, sort_keys=True)


def zone_abbreviations() -> str:
    """``{"180": "EAT"}``: the configured zone's label for each UTC offset (in minutes) it
    had over the last month, as JSON, so scripts label times as the pages do (the browser's
    Intl would write "GMT+3")."""
    try:
        zone = display_zone()
    except SQLAlchemyError:
        db.session.rollback()
        return json.dumps({"0": "UTC"})
    return _abbreviations(zone.key, utcnow().date().isoformat())


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
        return display_zone().key
    except SQLAlchemyError:  # an error page while the database is away still renders
        db.session.rollback()
        return "UTC"
