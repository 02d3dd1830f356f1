"""Maintenance windows: which servers are in one now, and their Alertmanager silences."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import requests
from flask import current_app, has_request_context, request
from sqlalchemy import select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import MaintenanceWindow

log = logging.getLogger(__name__)

SILENCE_TIMEOUT_S = 5
# Labels of a server that a window's label selector may name, besides its free labels.
BUILTIN_LABELS = {"environment": "environment", "group": "group_name", "kind": "kind"}


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


def server_label_view(item: dict) -> dict[str, str]:
    """The labels a selector can match, from a serialized server."""
    labels = dict(item.get("labels") or {})
    for key in BUILTIN_LABELS:
        value = item.get(key)
        if value:
            labels[key] = value
    return labels


def in_maintenance(windows: Iterable[MaintenanceWindow], server_id: int,
                   labels: dict[str, str]) -> bool:
    return any(window_matches(window, server_id, labels) for window in windows)


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
    now = utcnow()
    return list(db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.silence_error.is_not(None), MaintenanceWindow.ends_at > now,
    )))
