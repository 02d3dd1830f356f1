"""The Reports page. Downtime reports are built from incident history, which comes later."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.auth.guard import requires

bp = Blueprint("report_pages", __name__, template_folder="templates")


@bp.get("/reports")
@requires("reports.view", page=True)
def reports():
    return render_template("reports/reports.html")
