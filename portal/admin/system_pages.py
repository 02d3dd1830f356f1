"""The API reference (api.access) and the live configuration as code (codebase.view)."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.admin.api_reference import api_reference
from portal.admin.service import config_bundle
from portal.auth.guard import requires

bp = Blueprint("system_pages", __name__, template_folder="templates")


@bp.get("/api-docs")
@requires("api.access", page=True)
def api_docs():
    """One section per area: each route's method, path, permission, what it does and the
    fields of the models it reads."""
    return render_template("system/api_docs.html", areas=api_reference())


@bp.get("/system")
@requires("codebase.view", page=True)
def system():
    return render_template("system/system.html", bundle=config_bundle())
