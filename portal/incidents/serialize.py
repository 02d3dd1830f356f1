"""Incidents and maintenance windows as the API returns them."""

from __future__ import annotations

from datetime import datetime

from portal.dbtypes import utcnow
from portal.incidents.models import Incident, MaintenanceSchedule, MaintenanceWindow


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def serialize_incident(incident: Incident) -> dict:
    return {
        "id": incident.id,
        "alertname": incident.alertname,
        "severity": incident.severity,
        "state": "open" if incident.is_open else "resolved",
        "server_id": incident.server_id,
        "server": incident.server_name,
        "summary": incident.summary,
        "description": incident.description,
        "reason": incident.reason,
        "labels": incident.labels,
        "started_at": _iso(incident.started_at),
        "ended_at": _iso(incident.ended_at),
        "duration_s": round(incident.duration_s, 3),
        "downtime": incident.is_downtime,
        "in_maintenance": incident.in_maintenance,
        # Open while a window covering its server is in force: since when, and which.
        "maintenance_since": _iso(incident.maintenance_since),
        "maintenance_window_id": incident.maintenance_window_id,
        "flapping_since": _iso(incident.flapping_since),
        # Not paged: the down server it depends on (portal/incidents/dependants.py).
        "suppressed_by": incident.suppressed_by,
        "pages_held_until": _iso(incident.pages_held_until),
        "acknowledged_at": _iso(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by_name,
        "ack_note": incident.ack_note,
    }


def serialize_window(window: MaintenanceWindow) -> dict:
    now = utcnow()
    return {
        "id": window.id,
        "server_id": window.server_id,
        "label": f"{window.label_key}={window.label_value}" if window.label_key else None,
        "starts_at": _iso(window.starts_at),
        "ends_at": _iso(window.ends_at),
        "reason": window.reason,
        "active": window.cancelled_at is None and window.starts_at <= now < window.ends_at,
        "cancelled_at": _iso(window.cancelled_at),
        "silence_id": window.silence_id,
        "silence_status": "error" if window.silence_error else
        ("synced" if window.silence_id or window.cancelled_at else "pending"),
        "silence_error": window.silence_error,
        "created_by": window.created_by_name,
        "created_at": _iso(window.created_at),
        "schedule_id": window.schedule_id,
    }


def serialize_schedule(schedule: MaintenanceSchedule, next_starts: list[datetime],
                       timezone: str) -> dict:
    return {
        "id": schedule.id,
        "server_id": schedule.server_id,
        "label": f"{schedule.label_key}={schedule.label_value}" if schedule.label_key else None,
        "reason": schedule.reason,
        "kind": schedule.kind,
        "weekdays": schedule.weekdays.split(",") if schedule.weekdays else None,
        "start_time": schedule.start_time,
        "cron": schedule.cron,
        "duration_min": schedule.duration_min,
        "timezone": timezone,
        "next_starts": [start.isoformat() for start in next_starts],
        "revision": schedule.revision,
        "cancelled_at": _iso(schedule.cancelled_at),
        "created_by": schedule.created_by_name,
        "created_at": _iso(schedule.created_at),
        "updated_at": _iso(schedule.updated_at),
    }
