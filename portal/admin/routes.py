"""/api/admin/summary, /api/system/config, /healthz and the portal's own /metrics."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from portal.admin.health import check_database, check_redis
from portal.admin.service import config_bundle, summary
from portal.auth.guard import public, requires
from portal.observability import exposition
from portal.servers.metrics import registered_exposition

bp = Blueprint("admin_api", __name__)


@bp.get("/api/admin/summary")
@requires("admin.view")
def admin_summary():
    return jsonify(summary())


@bp.get("/api/system/config")
@requires("codebase.view")
def system_config():
    return jsonify(config_bundle())


@bp.get("/healthz")
@public("liveness probe for load balancers and compose")
def healthz():
    checks = {"database": check_database(), "redis": check_redis()}
    healthy = all(check["ok"] for check in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503


@bp.get("/metrics")
@public("Prometheus scrapes it; it holds no user data")
def metrics():
    return exposition(current_app, registered_exposition()), 200, {
        "Content-Type": CONTENT_TYPE_LATEST
    }
