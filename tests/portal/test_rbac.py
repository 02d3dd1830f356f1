"""The permission matrix, and proof that every route declares what it needs."""

import pytest

from portal.rbac import AUTHENTICATED, PERMISSIONS, ROLE_PERMISSIONS, ROLES, can_grant
from tests.factories import login, make_user

# DESIGN.md's table, transcribed independently of portal/rbac.py.
MATRIX = """
users.manage     Y Y Y - - Y
servers.manage   Y Y Y - - Y
status.view      Y Y Y Y Y Y
logs.view        Y Y Y - - Y
alerts.view      Y Y Y Y Y Y
reports.view     Y Y Y Y Y Y
admin.view       Y Y Y - - Y
settings.manage  Y Y Y - - Y
api.access       Y - Y - - -
codebase.view    Y - Y - - -
"""
ROLE_ORDER = ["admin", "it_staff", "developer", "customer_engagement", "flexipay_support",
              "ebanking_support"]
EXPECTED = {
    (role, line.split()[0]): flag == "Y"
    for line in MATRIX.strip().splitlines()
    for role, flag in zip(ROLE_ORDER, line.split()[1:], strict=True)
}

# Routes that are open by design, each checked some other way.
PUBLIC_ENDPOINTS = {
    "auth_api.login", "auth_pages.login", "admin_api.healthz", "admin_api.metrics",
    "sd_api.targets", "sd_api.nodes", "alertmanager_api.webhook", "static",
    "incident_pages.ack_link", "incident_pages.ack_link_confirm",
    "status_pages.status_page",  # a staff-only page checks the session itself
    # the second step of a two-factor sign-in: the pending token from the first is checked
    "auth_api.login_mfa", "mfa_pages.login_code", "mfa_pages.login_enrol",
    # a job reports with its ping key: tests/portal/heartbeats/test_pings.py
    "pings.ping",
}

# One endpoint per key: (method, path) that answers 403 without the key and not 403 with it.
PROBES = {
    "users.manage": ("GET", "/api/users"),
    "servers.manage": ("DELETE", "/api/servers/999999"),
    "logs.view": ("GET", "/api/servers/999999/logs"),
    "alerts.view": ("GET", "/api/incidents"),
    "status.view": ("GET", "/api/servers"),
    "admin.view": ("GET", "/api/admin/summary"),
    "settings.manage": ("GET", "/api/settings"),
    "api.access": ("GET", "/api/tokens"),
    "codebase.view": ("GET", "/api/system/config"),
}


def test_the_roles_and_keys_are_exactly_the_designs():
    assert list(ROLES) == ROLE_ORDER
    assert len(PERMISSIONS) == 10
    for (role, key), allowed in EXPECTED.items():
        assert (key in ROLE_PERMISSIONS[role]) is allowed, (role, key)


def test_every_route_declares_a_permission(app):
    missing = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "required_permission", None)
        if rule.endpoint in PUBLIC_ENDPOINTS:
            assert declared is None, f"{rule} is public but declares {declared}"
            continue
        if declared not in (*PERMISSIONS, AUTHENTICATED, "refresh token"):
            missing.append(str(rule))
    assert missing == []


def test_public_routes_say_why(app):
    for endpoint in PUBLIC_ENDPOINTS - {"static", "alertmanager_api.webhook"}:
        assert getattr(app.view_functions[endpoint], "public_reason", None), endpoint


@pytest.mark.parametrize("role", ROLE_ORDER)
def test_each_role_reaches_exactly_its_keys(client, role):
    headers = login(client, make_user(role))
    for key, (method, path) in PROBES.items():
        status = client.open(path, method=method, headers=headers).status_code
        if EXPECTED[(role, key)]:
            assert status != 403, (role, key, status)
        else:
            assert status == 403, (role, key, status)


def test_signed_out_requests_get_401(client):
    for method, path in PROBES.values():
        assert client.open(path, method=method).status_code == 401


@pytest.mark.parametrize("actor", ROLE_ORDER)
def test_grants_are_subsets_of_the_actors_permissions(actor):
    for target in ROLE_ORDER:
        subset = all(EXPECTED[(actor, key)] for key in PERMISSIONS if EXPECTED[(target, key)])
        assert can_grant(actor, target) is subset
