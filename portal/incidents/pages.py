"""The Alerts page. Until incidents are recorded it says so, and where to look instead."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.auth.guard import requires

bp = Blueprint("incident_pages", __name__, template_folder="templates")


@bp.get("/alerts")
@requires("alerts.view", page=True)
def alerts():
    return render_template("incidents/alerts.html")
