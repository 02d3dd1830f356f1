"""The API reference (api.access) and the live configuration as code (codebase.view)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, render_template

from portal.admin.routes import config_bundle
from portal.auth.guard import requires

bp = Blueprint("system_pages", __name__, template_folder="templates")


@dataclass(frozen=True)
class Endpoint:
    methods: str
    path: str
    permission: str
    summary: str


def api_endpoints() -> list[Endpoint]:
    """Every /api route with its permission and the first line of its docstring."""
    found = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = current_app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", None) or "public: " + getattr(
            view, "public_reason", "")
        methods = ", ".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        summary = (view.__doc__ or "").strip().split("\n")[0]
        found.append(Endpoint(methods, rule.rule, permission, summary))
    return sorted(found, key=lambda e: (e.path, e.methods))


@bp.get("/api-docs")
@requires("api.access", page=True)
def api_docs():
    return render_template("system/api_docs.html", endpoints=api_endpoints())


@bp.get("/system")
@requires("codebase.view", page=True)
def system():
    return render_template("system/system.html", bundle=config_bundle())
