"""GET /api/reports/downtime: the downtime report as JSON, CSV or XLSX."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, send_file, stream_with_context

from portal.auth.guard import requires
from portal.reports.downtime import Period, server_reports
from portal.reports.formats import incidents_csv, summary_csv, summary_json, xlsx_file
from portal.reports.schemas import ReportQuery
from portal.schemas import parse_query
from portal.settings.service import load_settings

bp = Blueprint("reports_api", __name__, url_prefix="/api/reports")

def _filename(period: Period, extension: str) -> str:
    start = period.start.astimezone(period.timezone).strftime("%Y%m%d")
    end = period.end.astimezone(period.timezone).strftime("%Y%m%d")
    return f"servermon-downtime-{start}-{end}.{extension}"


@bp.get("/downtime")
@requires("reports.view")
def downtime():
    args = parse_query(ReportQuery)
    period = args.period(ZoneInfo(load_settings().timezone))
    scope = args.scope()
    if args.format == "csv":
        keep = args.table == "incidents"
        reports = server_reports(period, scope, keep_lines=keep)
        lines = incidents_csv(reports, period) if keep else summary_csv(reports)
        name = _filename(period, "csv").replace("downtime", f"downtime-{args.table}")
        return Response(stream_with_context(lines), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})
    if args.format == "xlsx":
        return send_file(xlsx_file(server_reports(period, scope), period),
                         mimetype="application/vnd.openxmlformats-officedocument."
                                  "spreadsheetml.sheet",
                         as_attachment=True, download_name=_filename(period, "xlsx"))
    reports = [summary_json(report, period) for report in server_reports(period, scope)]
    return jsonify(
        period={"from": period.start.astimezone(period.timezone).isoformat(),
                "to": period.end.astimezone(period.timezone).isoformat(),
                "timezone": period.timezone.key},
        servers=reports,
    )
