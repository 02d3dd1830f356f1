"""The sidebar: every page a role can open, in order."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from portal.web.context import can


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    icon: str
    permission: str


NAV_ITEMS = (
    NavItem("server_pages.dashboard", "Dashboard", "speedometer2", "status.view"),
    NavItem("server_pages.servers", "Servers", "hdd-stack", "status.view"),
    NavItem("incident_pages.alerts", "Alerts", "bell", "alerts.view"),
    NavItem("log_pages.logs", "Logs", "journal-text", "logs.view"),
    NavItem("incident_pages.maintenance", "Maintenance", "tools", "status.view"),
    NavItem("status_pages.manage", "Status pages", "broadcast", "status.view"),
    NavItem("report_pages.reports", "Reports", "file-earmark-bar-graph", "reports.view"),
    NavItem("settings_pages.settings", "Settings", "gear", "settings.manage"),
    NavItem("admin_pages.admin", "Admin", "people", "admin.view"),
    NavItem("audit_pages.audit", "Audit", "shield-check", "admin.view"),
    NavItem("chart_pages.promql", "Query", "graph-up", "api.access"),
    NavItem("system_pages.api_docs", "API", "braces", "api.access"),
    NavItem("system_pages.system", "System", "code-square", "codebase.view"),
)


def nav_items() -> list[NavItem]:
    """The entries the signed-in user's role may open (none when signed out)."""
    return [item for item in NAV_ITEMS
            if can(item.permission) and item.endpoint in current_app.view_functions]
