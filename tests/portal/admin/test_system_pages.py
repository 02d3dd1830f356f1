"""The API reference and the configuration-as-code page, for the roles that hold them."""

import re

import pytest

from portal.admin.api_reference import api_reference
from tests.support.pages import sign_in


def _route(html: str, methods_and_path: str) -> str:
    """One route's card on the API docs page."""
    return html.split(f'data-api-route="{methods_and_path}"', 1)[1].split("</article>", 1)[0]


def test_the_api_reference_lists_routes_with_their_permissions(client):
    sign_in(client, "developer")
    html = client.get("/api-docs").get_data(as_text=True)
    assert '<code class="text-break api-path">/api/servers</code>' in html and "servers.manage" in html
    assert "/api/alertmanager/webhook" in html and "public: checked against" in html


def test_each_area_is_a_section_and_each_route_says_what_it_does_and_takes(client):
    sign_in(client, "developer")
    html = client.get("/api-docs").get_data(as_text=True)
    areas = re.findall(r'data-api-area="([a-z]+)"', html)
    assert len(areas) == len(set(areas)) and {"servers", "incidents", "maintenance", "auth"} <= set(areas)
    window = _route(html, "POST /api/maintenance")  # parse_json(WindowIn) in the view
    assert "(WindowIn)" in window and "<code>starts_at</code>" in window and "<code>reason</code>" in window
    assert "Plan a maintenance window" in window
    incidents = _route(html, "GET /api/incidents")  # parse_query(IncidentQuery)
    assert "Query" in incidents and "(IncidentQuery)" in incidents and "<code>severity</code>" in incidents
    server = _route(html, "POST /api/servers")  # declared with @takes: it validates in the service
    assert "(ServerSpec)" in server and "<code>target</code>" in server
    assert "required" in server.split("<code>name</code>", 1)[1][:80]
    endpoint = _route(html, "POST /api/notifications/endpoints")  # parse_json(module.EndpointIn)
    assert "(EndpointIn)" in endpoint
    assert "Body" not in _route(html, "DELETE /api/servers/&lt;int:server_id&gt;")


def test_every_api_route_has_a_description(app):
    with app.test_request_context():
        routes = [route for area in api_reference() for route in area.routes]
    assert len(routes) > 40
    assert [route.path for route in routes if not route.description] == []


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
