"""Maintenance windows: planned work that excuses downtime, and its Alertmanager silence.

A window is saved whether or not Alertmanager answers; its silence is made (or expired,
when cancelled) at once if possible and otherwise by the worker's periodic sync, so the
portal's record is the truth and Alertmanager is brought in line with it. Which servers a
window covers now is part of their effective status (``servers.status``).
"""

from __future__ import annotations

import logging
from datetime import datetime

import requests
from flask import current_app
from sqlalchemy import Select, select

from portal.audit.service import Target, record
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.incidents.maintenance_marks import mark_maintenance
from portal.incidents.models import MaintenanceWindow
from portal.incidents.schemas import WindowIn, WindowQuery
from portal.incidents.serialize import serialize_window
from portal.realtime.publish import publish
from portal.servers import page_cache
from portal.servers.models import Server
from portal.servers.schemas import label_selector

log = logging.getLogger(__name__)

SILENCE_TIMEOUT_S = 5


def window_state(window: MaintenanceWindow, now: datetime) -> str:
    if window.cancelled_at is not None:
        return "cancelled"
    if window.ends_at <= now:
        return "ended"
    return "active" if window.starts_at <= now else "scheduled"


def window_query(args: WindowQuery) -> Select:
    """Windows, latest start first; ``active`` keeps those in force now."""
    now = utcnow()
    query = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at.desc())
    if args.server_id is not None:
        query = query.where(MaintenanceWindow.server_id == args.server_id)
    if args.active:
        query = query.where(MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now,
                            MaintenanceWindow.cancelled_at.is_(None))
    return query


def window_target(window: MaintenanceWindow) -> Target:
    scope = window.server.name if window.server_id and window.server else \
        f"{window.label_key}={window.label_value}" if window.label_key else "every server"
    return Target("maintenance", window.id, scope)


def window_audited(window: MaintenanceWindow) -> dict:
    return {"server_id": window.server_id,
            "label": f"{window.label_key}={window.label_value}" if window.label_key else None,
            "starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat(),
            "reason": window.reason, "schedule_id": window.schedule_id}


def create_window(data: WindowIn, user: User) -> MaintenanceWindow:
    if data.server_id is not None and db.session.get(Server, data.server_id) is None:
        raise APIError(400, "invalid value for server_id", {"server_id": "no such server"})
    if data.ends_at <= utcnow():
        raise APIError(400, "invalid value for ends_at", {"ends_at": "is in the past"})
    key, value = label_selector(data.label) if data.label else (None, None)
    window = MaintenanceWindow(
        server_id=data.server_id, label_key=key, label_value=value,
        starts_at=data.starts_at, ends_at=data.ends_at, reason=data.reason,
        created_by_id=user.id, created_by_name=user.username,
    )
    db.session.add(window)
    db.session.flush()
    record("maintenance.created", window_target(window), after=window_audited(window), actor=user)
    db.session.commit()
    sync_silence(window)
    announce([window])
    return window


def mark_cancelled(window: MaintenanceWindow) -> None:
    """Cancel and audit, in the caller's transaction (``announce`` once it is committed)."""
    window.cancelled_at = utcnow()
    record("maintenance.cancelled", window_target(window), before=window_audited(window))


def cancel_window(window: MaintenanceWindow) -> MaintenanceWindow:
    if window.cancelled_at is None:
        mark_cancelled(window)
        db.session.commit()
        sync_silence(window)
        announce([window])
    return window


def announce(windows: list[MaintenanceWindow]) -> None:
    """After windows were planned or cancelled (committed): servers' status moves, open
    incidents are marked or unmarked at once when one is in force, and pages are told."""
    if not windows:
        return
    page_cache.bump()
    now = utcnow()
    if any(window.starts_at <= now < window.ends_at for window in windows):
        mark_maintenance(now)
    for window in windows:
        publish("maintenance", serialize_window(window))


def silence_matchers(window: MaintenanceWindow) -> list[dict]:
    if window.server_id is not None:
        name, value = "server_id", str(window.server_id)
    else:
        name, value = window.label_key, window.label_value
    return [{"name": name, "value": value, "isRegex": False, "isEqual": True}]


def sync_silence(window: MaintenanceWindow) -> bool:
    """Create (or expire, when cancelled) the window's silence; False if Alertmanager failed.

    The window is saved either way; the worker's sweep calls this again until it succeeds.
    """
    base = current_app.config["SERVERMON"].alertmanager_url
    try:
        if window.cancelled_at is not None:
            if window.silence_id:
                response = requests.delete(f"{base}/api/v2/silence/{window.silence_id}",
                                           timeout=SILENCE_TIMEOUT_S)
                if response.status_code not in (200, 404):
                    response.raise_for_status()
            window.silence_id = None
        elif window.silence_id is None and window.ends_at > utcnow():
            response = requests.post(f"{base}/api/v2/silences", timeout=SILENCE_TIMEOUT_S, json={
                "matchers": silence_matchers(window),
                "startsAt": window.starts_at.isoformat(),
                "endsAt": window.ends_at.isoformat(),
                "createdBy": window.created_by_name or "servermon",
                "comment": f"servermon maintenance #{window.id}: {window.reason}",
            })
            response.raise_for_status()
            window.silence_id = response.json()["silenceID"]
        window.silence_error = None
        return True
    except (requests.RequestException, KeyError, ValueError) as exc:
        window.silence_error = str(exc)[:500]
        log.warning("silence for maintenance window %s not synced: %s", window.id, exc)
        return False
    finally:
        db.session.commit()


def unsynced_windows() -> list[MaintenanceWindow]:
    """Windows whose last sync failed, and those never synced (a recurring schedule's
    occurrences, which the worker plans ahead of time): their silence is made now."""
    now = utcnow()
    never = MaintenanceWindow.silence_id.is_(None) & MaintenanceWindow.cancelled_at.is_(None)
    return list(db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.silence_error.is_not(None) | never, MaintenanceWindow.ends_at > now,
    ).order_by(MaintenanceWindow.starts_at)))
