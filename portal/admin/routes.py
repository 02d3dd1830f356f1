"""/api/admin/summary, /api/system/config, /healthz and the portal's own /metrics."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from portal.admin.health import check_components, check_database, check_redis
from portal.auth.guard import public, requires
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.observability import exposition
from portal.servers.models import Server, ServerStatus
from portal.servers.service import status_condition
from portal.users.service import serialize_user

bp = Blueprint("admin_api", __name__)

ONLINE_WINDOW = timedelta(minutes=5)


def is_online(user: User) -> bool:
    return bool(user.last_seen_at and utcnow() - user.last_seen_at <= ONLINE_WINDOW)


def server_counts() -> dict:
    enabled = (select(func.count(Server.id)).select_from(Server)
               .outerjoin(ServerStatus, ServerStatus.server_id == Server.id)
               .where(Server.enabled.is_(True)))
    by_status = {status: db.session.scalar(enabled.where(status_condition(status)))
                 for status in ("up", "down", "unknown", "maintenance")}
    total = db.session.scalar(select(func.count(Server.id)))
    return {"total": total, "enabled": sum(by_status.values()), "by_status": by_status}


def summary() -> dict:
    users = db.session.scalars(select(User).order_by(User.last_seen_at.desc().nulls_last(),
                                                      User.username)).all()
    listed = [serialize_user(user, online=is_online(user)) for user in users]
    return {
        "users": listed,
        "counts": {
            "users": len(users),
            "active_users": sum(1 for user in users if user.is_active),
            "online_users": sum(1 for item in listed if item["online"]),
            "servers": server_counts(),
        },
        "components": check_components(),
    }


@bp.get("/api/admin/summary")
@requires("admin.view")
def admin_summary():
    return jsonify(summary())


@cache
def build_info(repo_root: Path) -> dict:
    try:
        package_version = version("servermon")
    except PackageNotFoundError:
        package_version = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo_root, capture_output=True, text=True,  # noqa: S607
            timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {"version": package_version, "commit": commit}


def _texts(folder: Path, *patterns: str) -> dict[str, str]:
    files = sorted({path for pattern in patterns for path in folder.glob(pattern)})
    return {str(path.relative_to(folder)): path.read_text() for path in files if path.is_file()}


def config_bundle() -> dict:
    root = current_app.config["SERVERMON"].repo_root
    return {
        **build_info(root),
        "alert_rules": _texts(root / "alert_rules", "*.yml", "*.yaml"),
        "alertmanager": _texts(root / "provisioning" / "alertmanager", "*.yml"),
        "prometheus": _texts(root / "provisioning" / "prometheus", "*.yml"),
        "dashboards": _texts(root / "dashboards", "*.json"),
    }


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
    return exposition(current_app), 200, {
        "Content-Type": CONTENT_TYPE_LATEST
    }
