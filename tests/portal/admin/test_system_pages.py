"""The API reference and the configuration-as-code page, for the roles that hold them."""

import pytest

from tests.support.pages import sign_in


def test_the_api_reference_lists_routes_with_their_permissions(client):
    sign_in(client, "developer")
    html = client.get("/api-docs").get_data(as_text=True)
    assert "<code>/api/servers</code>" in html and "servers.manage" in html
    assert "/api/alertmanager/webhook" in html and "public: checked against" in html


def test_the_system_page_shows_build_info_and_the_live_rules(client):
    sign_in(client, "admin")
    html = client.get("/system").get_data(as_text=True)
    assert "servermon.rules.yml" in html and "ServerDown" in html
    assert "alertmanager.yml" in html and "overview.json" in html


@pytest.mark.parametrize(("path", "role"), [("/api-docs", "it_staff"),
                                            ("/system", "ebanking_support")])
def test_roles_without_the_key_are_refused(client, path, role):
    sign_in(client, role)
    assert client.get(path).status_code == 403


def test_the_sidebar_offers_them_only_to_those_roles(client):
    sign_in(client, "it_staff")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/api-docs"' not in html and 'href="/system"' not in html
