"""What every page template can use: the signed-in user, permission checks, CSRF, navigation."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, g
from flask_jwt_extended import decode_token, get_jwt

from portal.rbac import ROLE_LABELS, has_permission


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    icon: str
    permission: str


# The sidebar, in order; a role sees only the entries whose permission it holds.
NAV_ITEMS = (
    NavItem("server_pages.dashboard", "Dashboard", "speedometer2", "status.view"),
    NavItem("server_pages.servers", "Servers", "hdd-stack", "status.view"),
    NavItem("incident_pages.alerts", "Alerts", "bell", "alerts.view"),
    NavItem("report_pages.reports", "Reports", "file-earmark-bar-graph", "reports.view"),
    NavItem("settings_pages.settings", "Settings", "gear", "settings.manage"),
    NavItem("admin_pages.admin", "Admin", "people", "admin.view"),
)


def csrf_token() -> str:
    """The double-submit value forms must echo; after an implicit refresh, the new token's."""
    fresh = g.get("refreshed_access_token")
    if fresh:
        return decode_token(fresh).get("csrf", "")
    try:
        return get_jwt().get("csrf", "")
    except RuntimeError:
        return ""


def can(key: str) -> bool:
    user = g.get("user")
    return bool(user and has_permission(user.role, key))


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def _helpers() -> dict:
        user = g.get("user")
        items = [item for item in NAV_ITEMS if can(item.permission)] if user else []
        items = [item for item in items if item.endpoint in app.view_functions]
        return {
            "current_user": user,
            "can": can,
            "csrf_token": csrf_token,
            "nav_items": items,
            "role_labels": ROLE_LABELS,
        }
