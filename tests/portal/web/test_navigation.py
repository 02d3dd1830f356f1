"""Alerts and Reports: for now, honest empty states that point at the dashboard."""

import pytest

from portal.rbac import ROLES
from tests.support.pages import sign_in


@pytest.mark.parametrize("path", ["/alerts", "/reports"])
def test_signed_out_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_alerts_empty_state(client, role):
    sign_in(client, role)
    response = client.get("/alerts")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "No incidents recorded yet" in html
    assert "Alertmanager reports a server down" in html
    assert 'href="/dashboard"' in html


def test_the_sidebar_shows_only_what_the_role_may_use(client):
    sign_in(client, "customer_engagement")
    html = client.get("/alerts").get_data(as_text=True)
    assert 'href="/reports"' in html and 'href="/alerts"' in html
    assert 'href="/settings"' not in html and 'href="/admin"' not in html
