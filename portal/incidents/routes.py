"""/api/incidents (downtime history, acknowledgement) and /api/maintenance (windows and
recurring schedules)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from portal.auth.guard import current_user, requires
from portal.incidents.maintenance import cancel_window, create_window, window_query
from portal.incidents.models import MaintenanceSchedule, MaintenanceWindow
from portal.incidents.recurring import (
    cancel_schedule,
    create_schedule,
    schedule_query,
    schedule_view,
    update_schedule,
)
from portal.incidents.schemas import (
    AckIn,
    IncidentQuery,
    ScheduleIn,
    SchedulePatch,
    WindowIn,
    WindowQuery,
)
from portal.incidents.serialize import serialize_incident, serialize_window
from portal.incidents.service import acknowledge, get_incident_or_404, incident_query
from portal.lookups import get_or_404
from portal.pagination import paginate
from portal.schemas import PageQuery, parse_json, parse_query

bp = Blueprint("incidents_api", __name__, url_prefix="/api")


@bp.get("/incidents")
@requires("alerts.view")
def list_incidents():
    args = parse_query(IncidentQuery)
    return jsonify(paginate(incident_query(args), args.page, args.per_page, serialize_incident))


@bp.get("/incidents/<int:incident_id>")
@requires("alerts.view")
def show_incident(incident_id: int):
    return jsonify(serialize_incident(get_incident_or_404(incident_id)))


@bp.post("/incidents/<int:incident_id>/ack")
@requires("alerts.view")
def ack_incident(incident_id: int):
    incident = get_incident_or_404(incident_id)
    return jsonify(serialize_incident(acknowledge(incident, parse_json(AckIn).note,
                                                  current_user())))


@bp.get("/maintenance")
@requires("status.view")
def list_windows():
    args = parse_query(WindowQuery)
    return jsonify(paginate(window_query(args), args.page, args.per_page, serialize_window))


@bp.post("/maintenance")
@requires("servers.manage")
def add_window():
    return jsonify(serialize_window(create_window(parse_json(WindowIn), current_user()))), 201


@bp.delete("/maintenance/<int:window_id>")
@requires("servers.manage")
def delete_window(window_id: int):
    window = get_or_404(MaintenanceWindow, window_id, "maintenance window")
    return jsonify(serialize_window(cancel_window(window)))


@bp.get("/maintenance/schedules")
@requires("status.view")
def list_schedules():
    args = parse_query(PageQuery)
    return jsonify(paginate(schedule_query(), args.page, args.per_page, schedule_view))


@bp.post("/maintenance/schedules")
@requires("servers.manage")
def add_schedule():
    return jsonify(schedule_view(create_schedule(parse_json(ScheduleIn), current_user()))), 201


@bp.get("/maintenance/schedules/<int:schedule_id>")
@requires("status.view")
def show_schedule(schedule_id: int):
    return jsonify(schedule_view(get_or_404(MaintenanceSchedule, schedule_id,
                                            "maintenance schedule")))


@bp.patch("/maintenance/schedules/<int:schedule_id>")
@requires("servers.manage")
def edit_schedule(schedule_id: int):
    schedule = get_or_404(MaintenanceSchedule, schedule_id, "maintenance schedule")
    changes = parse_json(SchedulePatch).model_dump(exclude_unset=True)
    return jsonify(schedule_view(update_schedule(schedule, changes, current_user())))


@bp.delete("/maintenance/schedules/<int:schedule_id>")
@requires("servers.manage")
def delete_schedule(schedule_id: int):
    schedule = get_or_404(MaintenanceSchedule, schedule_id, "maintenance schedule")
    return jsonify(schedule_view(cancel_schedule(schedule)))
