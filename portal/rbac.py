"""Roles and permissions as data: the design's matrix, defined once.

Views never name roles; they declare the permission key they need (see
``portal.auth.guard``), and this table says which roles hold it.
"""

from __future__ import annotations

from types import MappingProxyType

PERMISSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "users.manage": "User Management",
        "servers.manage": "Server Management",
        "status.view": "Real-Time Server Status",
        "logs.view": "Server Logs",
        "alerts.view": "Alerts",
        "reports.view": "Reports",
        "admin.view": "Admin Dashboard",
        "settings.manage": "System Settings",
        "api.access": "API Access",
        "codebase.view": "Codebase Access",
    }
)

_STAFF = frozenset(
    {
        "users.manage",
        "servers.manage",
        "status.view",
        "logs.view",
        "alerts.view",
        "reports.view",
        "admin.view",
        "settings.manage",
    }
)
_VIEWER = frozenset({"status.view", "alerts.view", "reports.view"})

ROLE_PERMISSIONS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "admin": frozenset(PERMISSIONS),
        "it_staff": _STAFF,
        "developer": frozenset(PERMISSIONS),
        "customer_engagement": _VIEWER,
        "flexipay_support": _VIEWER,
        "ebanking_support": _STAFF,
    }
)

ROLE_LABELS: MappingProxyType[str, str] = MappingProxyType(
    {
        "admin": "Administrator",
        "it_staff": "IT Staff",
        "developer": "Developer",
        "customer_engagement": "Customer Engagement",
        "flexipay_support": "FlexiPay Support",
        "ebanking_support": "E-Banking Support",
    }
)

ROLES: tuple[str, ...] = tuple(ROLE_PERMISSIONS)

# Pseudo-key for endpoints any signed-in user may call (logout, me, own profile).
AUTHENTICATED = "authenticated"


def permissions_of(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())


def has_permission(role: str, key: str) -> bool:
    if key == AUTHENTICATED:
        return role in ROLE_PERMISSIONS
    return key in permissions_of(role)


def can_grant(actor_role: str, target_role: str) -> bool:
    """A user may hand out only roles whose permissions are a subset of their own."""
    return target_role in ROLE_PERMISSIONS and permissions_of(target_role) <= permissions_of(
        actor_role
    )
