"""GET /api/reports/downtime: the downtime report as JSON, CSV or XLSX."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, send_file, stream_with_context
from pydantic import Field, model_validator

from portal.auth.guard import requires
from portal.reports.downtime import Period, Scope, preset_period, server_reports
from portal.reports.formats import incidents_csv, summary_csv, summary_json, xlsx_file
from portal.schemas import DbId, Strict, parse_query
from portal.servers.schemas import LABEL_NAME
from portal.settings.service import load_settings

bp = Blueprint("reports_api", __name__, url_prefix="/api/reports")

MAX_PERIOD = timedelta(days=400)
PRESETS = ("today", "last_7_days", "last_30_days", "last_month")


class ReportQuery(Strict):
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    preset: Literal[PRESETS] | None = None  # type: ignore[valid-type]
    server_id: DbId | None = None
    label: str | None = Field(None, max_length=300)
    format: Literal["json", "csv", "xlsx"] = "json"
    table: Literal["summary", "incidents"] = "summary"

    @model_validator(mode="after")
    def _checks(self) -> ReportQuery:
        for name in ("from_", "to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                field = name.rstrip("_")
                raise ValueError(f"{field}: needs a UTC offset, e.g. 2026-11-01T00:00:00+03:00")
        if (self.from_ is None) != (self.to is None):
            raise ValueError("to: give both from and to, or a preset")
        if self.from_ and self.to:
            if self.to <= self.from_:
                raise ValueError("to: must be after from")
            if self.to - self.from_ > MAX_PERIOD:
                raise ValueError("to: a report covers at most 400 days")
        if self.label is not None:
            key, sep, value = self.label.partition("=")
            if not sep or not LABEL_NAME.match(key) or not value:
                raise ValueError("label: must be key=value, e.g. environment=production")
        return self

    def period(self, timezone: ZoneInfo) -> Period:
        if self.from_ and self.to:
            return Period(self.from_, self.to, timezone)
        return preset_period(self.preset or "last_7_days", timezone)

    def scope(self) -> Scope:
        label = tuple(self.label.split("=", 1)) if self.label else None
        return Scope(server_id=self.server_id, label=label)  # type: ignore[arg-type]


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
