"""A server's effective status: the one place that says what ``up``, ``down``,
``unknown`` and ``maintenance`` mean. SQL filters and counts, the API, the pages and the
live events all take it from here, so no two of them can disagree.

In order of precedence:

1. a maintenance window in force: ``maintenance``;
2. the probes: the exporter's newest result for an enabled server, else the last state
   change stored in the log: ``up`` or ``down``; ``unknown`` before the first probe.

An open incident never outranks the probes. A server that answers again is ``up`` the
moment the exporter says so, while its incident closes on Alertmanager's time (the Alerts
page shows it as recovered and closing); the incident's start and end come from the same
probe events, so the history and the status still describe one outage.

SQL cannot read the exporter's newest results (they are in Redis), so filters and counts
use the stored state change, which trails them by the ingest delay (about a second).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import and_, case, false, not_, or_, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import MaintenanceWindow
from portal.servers.labels import label_condition, label_view
from portal.servers.models import Server, ServerStatus
from wire import STATES

STATUSES = ("up", "down", "unknown", "maintenance")
SEVERITY = ("down", "unknown", "maintenance", "up")  # problems first


@dataclass(frozen=True)
class Overrides:
    """What outranks the probes for one server right now."""

    maintenance: bool = False


NONE = Overrides()


def probe_status(stored: str | None, latest: dict | None, enabled: bool) -> str | None:
    """What the probes say: the exporter's newest result wins over the stored state change
    it may be ahead of; a paused server keeps what was stored."""
    if enabled and latest and latest.get("status") in STATES:
        return latest["status"]
    return stored


def effective(probe: str | None, overrides: Overrides = NONE) -> str:
    """The status to show, from what the probes say and what outranks them."""
    if overrides.maintenance:
        return "maintenance"
    return probe if probe in STATES else "unknown"


# --- maintenance windows --------------------------------------------------------------

def active_windows(at: datetime | None = None) -> list[MaintenanceWindow]:
    """Windows in force at ``at`` (now by default; read once per request for "now")."""
    if at is None and has_request_context():
        cached = getattr(request, "_servermon_active_windows", None)
        if cached is None:
            cached = _active_windows(utcnow())
            request._servermon_active_windows = cached
        return cached
    return _active_windows(at or utcnow())


def _active_windows(at: datetime) -> list[MaintenanceWindow]:
    return list(db.session.scalars(
        select(MaintenanceWindow).where(
            MaintenanceWindow.starts_at <= at, MaintenanceWindow.ends_at > at,
            MaintenanceWindow.cancelled_at.is_(None),
        )
    ))


def window_matches(window: MaintenanceWindow, server_id: int, labels: dict[str, str]) -> bool:
    """``labels`` holds the server's free labels plus environment, group and kind."""
    if window.server_id is not None:
        return window.server_id == server_id
    return labels.get(window.label_key or "") == window.label_value


def in_maintenance(windows: Iterable[MaintenanceWindow], server_id: int,
                   labels: dict[str, str]) -> bool:
    return any(window_matches(window, server_id, labels) for window in windows)


# --- many servers at once (lists, the dashboard, the snapshot) -----------------------------

def overrides_for(items: list[dict]) -> dict[int, Overrides]:
    """Per serialized server, what outranks its probes: one query however many servers."""
    if not items:
        return {}
    windows = active_windows()
    return {item["id"]: Overrides(maintenance=in_maintenance(windows, item["id"],
                                                             label_view(item)))
            for item in items}


# --- SQL -------------------------------------------------------------------------------

def _maintenance_condition(windows: list[MaintenanceWindow]):
    conditions = [Server.id == window.server_id if window.server_id is not None
                  else label_condition(window.label_key, window.label_value)
                  for window in windows]
    return or_(*conditions) if conditions else false()


def condition(status: str):
    """SQL: the server's effective status is ``status`` (on a query joined to ServerStatus)."""
    maintenance = _maintenance_condition(active_windows())
    if status == "maintenance":
        return maintenance
    stored = ServerStatus.status
    if status in STATES:
        return and_(not_(maintenance), stored == status)
    return and_(not_(maintenance), or_(stored.is_(None), stored == "unknown"))


def severity():
    """SQL: a rank by effective status, problems first (SEVERITY's order)."""
    return case(*((condition(name), rank) for rank, name in enumerate(SEVERITY)),
                else_=len(SEVERITY))

