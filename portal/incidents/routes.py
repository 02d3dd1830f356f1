"""/api/incidents (downtime history, acknowledgement) and /api/maintenance (windows)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field, model_validator
from sqlalchemy import or_, select

from portal.auth.guard import current_user, requires
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.incidents.maintenance import sync_silence
from portal.incidents.models import Incident, MaintenanceWindow
from portal.incidents.serialize import serialize_incident, serialize_window
from portal.lookups import get_or_404
from portal.pagination import paginate
from portal.realtime.publish import publish
from portal.schemas import DbId, Line, PageQuery, Strict, aware, parse_json, parse_query
from portal.servers import page_cache
from portal.servers.models import Server
from portal.servers.schemas import LABEL_NAME

bp = Blueprint("incidents_api", __name__, url_prefix="/api")

MAX_WINDOW = timedelta(days=31)


class IncidentQuery(PageQuery):
    server_id: DbId | None = None
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    state: Literal["open", "resolved"] | None = None
    alertname: Line | None = Field(None, max_length=100)
    severity: Literal["warning", "critical"] | None = None


def incident_query(args: IncidentQuery):
    """Incidents overlapping [from, to), newest first."""
    query = select(Incident)
    if args.server_id is not None:
        query = query.where(Incident.server_id == args.server_id)
    if args.from_:
        start = aware(args.from_, "from")
        query = query.where(or_(Incident.ended_at.is_(None), Incident.ended_at > start))
    if args.to:
        query = query.where(Incident.started_at < aware(args.to, "to"))
    if args.state == "open":
        query = query.where(Incident.ended_at.is_(None))
    elif args.state == "resolved":
        query = query.where(Incident.ended_at.is_not(None))
    if args.alertname:
        query = query.where(Incident.alertname == args.alertname)
    if args.severity:
        query = query.where(Incident.severity == args.severity)
    return query.order_by(Incident.started_at.desc(), Incident.id.desc())


def get_incident_or_404(incident_id: int) -> Incident:
    return get_or_404(Incident, incident_id, "incident")


@bp.get("/incidents")
@requires("alerts.view")
def list_incidents():
    args = parse_query(IncidentQuery)
    return jsonify(paginate(incident_query(args), args.page, args.per_page, serialize_incident))


@bp.get("/incidents/<int:incident_id>")
@requires("alerts.view")
def show_incident(incident_id: int):
    return jsonify(serialize_incident(get_incident_or_404(incident_id)))


class AckIn(Strict):
    note: str = Field("", max_length=1000)


def acknowledge(incident: Incident, note: str) -> Incident:
    if incident.acknowledged_at is not None:
        raise APIError(409, f"already acknowledged by {incident.acknowledged_by_name}",
                       {"id": "already acknowledged"})
    user = current_user()
    incident.acknowledged_at = utcnow()
    incident.acknowledged_by_id = user.id
    incident.acknowledged_by_name = user.username
    incident.ack_note = note.strip() or None
    db.session.commit()
    publish("incident", serialize_incident(incident))
    return incident


@bp.post("/incidents/<int:incident_id>/ack")
@requires("alerts.view")
def ack_incident(incident_id: int):
    incident = get_incident_or_404(incident_id)
    return jsonify(serialize_incident(acknowledge(incident, parse_json(AckIn).note)))


class WindowIn(Strict):
    server_id: DbId | None = None
    label: Line | None = Field(None, max_length=300, description="key=value")
    starts_at: datetime
    ends_at: datetime
    reason: Line = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _checks(self) -> WindowIn:
        if (self.server_id is None) == (self.label is None):
            raise ValueError("server_id: give either server_id or label, not both")
        if self.label is not None:
            key, sep, value = self.label.partition("=")
            if not sep or not LABEL_NAME.match(key) or not value:
                raise ValueError("label: must be key=value, e.g. environment=production")
        for name in ("starts_at", "ends_at"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name}: needs a UTC offset, e.g. 2026-01-31T22:00:00+03:00")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at: must be after starts_at")
        if self.ends_at - self.starts_at > MAX_WINDOW:
            raise ValueError("ends_at: a window may last at most 31 days")
        return self


def create_window(data: WindowIn) -> MaintenanceWindow:
    if data.server_id is not None and db.session.get(Server, data.server_id) is None:
        raise APIError(400, "invalid value for server_id", {"server_id": "no such server"})
    if data.ends_at <= utcnow():
        raise APIError(400, "invalid value for ends_at", {"ends_at": "is in the past"})
    key, _, value = (data.label or "").partition("=")
    user = current_user()
    window = MaintenanceWindow(
        server_id=data.server_id, label_key=key or None, label_value=value or None,
        starts_at=data.starts_at, ends_at=data.ends_at, reason=data.reason,
        created_by_id=user.id, created_by_name=user.username,
    )
    db.session.add(window)
    db.session.commit()
    sync_silence(window)
    page_cache.bump()
    publish("maintenance", serialize_window(window))
    return window


class WindowQuery(PageQuery):
    active: bool | None = None
    server_id: DbId | None = None


@bp.get("/maintenance")
@requires("status.view")
def list_windows():
    args = parse_query(WindowQuery)
    now = utcnow()
    query = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at.desc())
    if args.server_id is not None:
        query = query.where(MaintenanceWindow.server_id == args.server_id)
    if args.active:
        query = query.where(MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now,
                            MaintenanceWindow.cancelled_at.is_(None))
    return jsonify(paginate(query, args.page, args.per_page, serialize_window))


@bp.post("/maintenance")
@requires("servers.manage")
def add_window():
    return jsonify(serialize_window(create_window(parse_json(WindowIn)))), 201


def cancel_window(window: MaintenanceWindow) -> MaintenanceWindow:
    if window.cancelled_at is None:
        window.cancelled_at = utcnow()
        db.session.commit()
        sync_silence(window)
        page_cache.bump()
        publish("maintenance", serialize_window(window))
    return window


@bp.delete("/maintenance/<int:window_id>")
@requires("servers.manage")
def delete_window(window_id: int):
    window = get_or_404(MaintenanceWindow, window_id, "maintenance window")
    return jsonify(serialize_window(cancel_window(window)))
