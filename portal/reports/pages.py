"""The Reports page: pick a period (presets or dates in the configured time zone), see
downtime per server, download the same report as CSV or Excel from the API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request

from portal.auth.guard import requires
from portal.reports.downtime import MAX_DAYS, PRESETS, Period, Scope, preset_period, server_reports
from portal.reports.formats import summary_json
from portal.servers.schemas import label_selector
from portal.settings.service import load_settings

bp = Blueprint("report_pages", __name__, template_folder="templates")

PRESET_LABELS = {"today": "Today", "last_7_days": "Last 7 days", "last_30_days": "Last 30 days",
                 "last_month": "Last month", "custom": "Custom dates"}


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _period(zone: ZoneInfo, errors: dict[str, str]) -> tuple[str, Period]:
    preset = request.args.get("preset", "last_7_days")
    if preset not in (*PRESETS, "custom"):
        errors["preset"] = "choose one of the listed periods"
        preset = "last_7_days"
    if preset != "custom":
        return preset, preset_period(preset, zone)
    start, end = _parse_date(request.args.get("from")), _parse_date(request.args.get("to"))
    if start is None:
        errors["from"] = "enter a start date"
    if end is None:
        errors["to"] = "enter an end date"
    if start and end and end < start:
        errors["to"] = "must not be before the start date"
    if start and end and (end - start).days > MAX_DAYS:
        errors["to"] = f"a report covers at most {MAX_DAYS} days"
    if errors:
        return "last_7_days", preset_period("last_7_days", zone)
    begin = datetime.combine(start, time(), zone)
    finish = datetime.combine(end + timedelta(days=1), time(), zone)
    return preset, Period(begin, finish, zone)


def _scope(errors: dict[str, str]) -> Scope:
    label = request.args.get("label", "").strip()
    if not label:
        return Scope()
    try:
        return Scope(label=label_selector(label))
    except ValueError as exc:
        errors["label"] = str(exc)
        return Scope()


@bp.get("/reports")
@requires("reports.view", page=True)
def reports():
    settings = load_settings()
    zone = ZoneInfo(settings.timezone)
    errors: dict[str, str] = {}
    preset, period = _period(zone, errors)
    scope = _scope(errors)
    rows = [summary_json(report, period)
            for report in server_reports(period, scope, keep_lines=False)]
    query = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if scope.label:
        query["label"] = "=".join(scope.label)
    downloads = {
        "csv": "/api/reports/downtime?" + urlencode({**query, "format": "csv"}),
        "incidents": "/api/reports/downtime?" + urlencode({**query, "format": "csv",
                                                            "table": "incidents"}),
        "xlsx": "/api/reports/downtime?" + urlencode({**query, "format": "xlsx"}),
    }
    status = 400 if errors else 200
    return render_template(
        "reports/reports.html", rows=rows, period=period, preset=preset, errors=errors,
        presets=PRESET_LABELS, downloads=downloads, args=request.args,
        local_start=period.start.astimezone(zone), local_end=period.end.astimezone(zone),
    ), status
