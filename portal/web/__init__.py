"""What every page template can use: the signed-in user, permission checks, CSRF, navigation."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, g, request
from flask_jwt_extended import decode_token, get_jwt
from sqlalchemy.exc import SQLAlchemyError

from portal.charts.uptime import BANDS as UPTIME_BANDS
from portal.charts.uptime import uptime_grade
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.rbac import ROLE_LABELS, has_permission


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    icon: str
    permission: str


# The sidebar, in order; a role sees only the entries whose permission it holds.
NAV_ITEMS = (
    NavItem("server_pages.dashboard", "Dashboard", "speedometer2", "status.view"),
    NavItem("server_pages.servers", "Servers", "hdd-stack", "status.view"),
    NavItem("incident_pages.alerts", "Alerts", "bell", "alerts.view"),
    NavItem("log_pages.logs", "Logs", "journal-text", "logs.view"),
    NavItem("incident_pages.maintenance", "Maintenance", "tools", "status.view"),
    NavItem("report_pages.reports", "Reports", "file-earmark-bar-graph", "reports.view"),
    NavItem("settings_pages.settings", "Settings", "gear", "settings.manage"),
    NavItem("admin_pages.admin", "Admin", "people", "admin.view"),
    NavItem("chart_pages.promql", "Query", "graph-up", "api.access"),
    NavItem("system_pages.api_docs", "API", "braces", "api.access"),
    NavItem("system_pages.system", "System", "code-square", "codebase.view"),
)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-src 'self'{frames}; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(*frame_sources: str | None) -> str:
    """The policy for every response; pages that embed Grafana add its origin to frame-src
    (an origin, because a source with a path matches that one path only)."""
    origins = dict.fromkeys(filter(None, (_origin(url) for url in frame_sources if url)))
    return CONTENT_SECURITY_POLICY.format(frames="".join(f" {origin}" for origin in origins))


def csrf_token() -> str:
    """The double-submit value forms must echo; after an implicit refresh, the new token's."""
    fresh = g.get("refreshed_access_token")
    if fresh:
        return decode_token(fresh).get("csrf", "")
    try:
        return get_jwt().get("csrf", "")
    except RuntimeError:
        return ""


def can(key: str) -> bool:
    user = g.get("user")
    return bool(user and has_permission(user.role, key))


def form_errors(exc: APIError, fields: Collection[str],
                aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """An APIError's details keyed by form field; what fits no field goes under ``_form``.

    Details use the API's dotted paths (``labels.env``); a cross-field message that names
    its field first ("probe_timeout_s must be ...") is put next to that field.
    """
    aliases = aliases or {}
    errors: dict[str, str] = {}
    for path, detail in exc.details.items():
        head, _, rest = path.partition(".")
        name, message = aliases.get(head, head), str(detail)
        if rest:
            message = f"{rest}: {message}"
        if name not in fields:
            first, _, remainder = message.partition(" ")
            if first in fields and remainder:
                name, message = first, remainder
            else:
                name = "_form"
                message = message if path == "body" else f"{path}: {message}"
        errors.setdefault(name, message)
    if not errors or exc.status != 400:
        errors.setdefault("_form", exc.message)
    return errors


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


def page_number() -> int:
    """The ``page`` query argument of a page; anything odd means the first page."""
    text = request.args.get("page", "")
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def chosen_server(values: dict[str, str], errors: dict[str, str]) -> int | None:
    """The id picked in a filter form's "server" list; anything else is reported under it."""
    text = values["server"]
    if not text:
        return None
    if text.isdigit() and len(text) < 10:
        return int(text)
    errors["server"] = "choose a server from the list"
    return None


def day_range(values: dict[str, str], zone: ZoneInfo,
              errors: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    """The days of a filter form's "from" and "to" (inclusive) as the instants
    [start of "from", end of "to") in ``zone``. Bad input is reported in ``errors`` under
    its field and left out; it is also blanked in ``values``, since a date input cannot show
    it (browsers drop it with a console warning): the message beside it says what it was."""
    start = _local_day(values, zone, "from", errors)
    end = _local_day(values, zone, "to", errors)
    if end is not None:
        end += timedelta(days=1)  # the "to" day is included
    if start and end and end <= start:
        errors["to"] = "must not be before the start date"
        end = None
    return start, end


def _local_day(values: dict[str, str], zone: ZoneInfo, name: str,
               errors: dict[str, str]) -> datetime | None:
    if not values[name]:
        return None
    try:
        return datetime.combine(date.fromisoformat(values[name]), time(), zone)
    except ValueError:
        errors[name] = f"enter a date as YYYY-MM-DD, not “{values[name][:40]}”"
        values[name] = ""
        return None


def current_settings():
    """The portal's settings, read once per request however many helpers ask."""
    if "settings" not in g:
        from portal.settings.service import load_settings

        g.settings = load_settings()
    return g.settings


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


def unread_notifications() -> int:
    """The signed-in user's unread count for the navbar bell (one query per request)."""
    user = g.get("user")
    if user is None:
        return 0
    if "unread_notifications" not in g:
        from portal.notify.routes import unread_count

        try:
            g.unread_notifications = unread_count(user.id)
        except SQLAlchemyError:
            db.session.rollback()
            return 0
    return g.unread_notifications


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(ago, "ago")
    app.add_template_global(csrf_token, "csrf_token")  # also for macros imported without context
    app.add_template_global(uptime_grade, "uptime_grade")
    app.add_template_global(UPTIME_BANDS, "uptime_bands")

    @app.context_processor
    def _helpers() -> dict:
        user = g.get("user")
        items = [item for item in NAV_ITEMS if can(item.permission)] if user else []
        items = [item for item in items if item.endpoint in app.view_functions]
        return {
            "current_user": user,
            "can": can,
            "csrf_token": csrf_token,
            "nav_items": items,
            "role_labels": ROLE_LABELS,
            "unread_notifications": unread_notifications,
            "display_zone_name": display_zone_name,
        }
