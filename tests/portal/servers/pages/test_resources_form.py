"""The server form's Resources fieldset: the exporter's address and kind, folded away
until one is set."""

import re

from sqlalchemy import select

from portal.extensions import db
from portal.servers.models import Server
from tests.factories import make_server
from tests.portal.servers.pages import server_count, server_form
from tests.support.pages import post_form, sign_in


def _details(html: str) -> str:
    """The opening tag of the Resources fieldset's <details>."""
    return re.search(r'<legend class="h5">Resources</legend>\s*(<details[^>]*>)', html).group(1)


def test_a_new_server_shows_the_fieldset_folded_with_node_exporter_chosen(client):
    sign_in(client)
    html = client.get("/servers/new").get_data(as_text=True)
    assert _details(html) == "<details>"
    assert 'name="resources_endpoint"' in html
    assert '<option value="node" selected>node_exporter (Linux)</option>' in html


def test_the_form_saves_an_endpoint_and_shows_it_open_on_edit(client):
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(
        resources_endpoint="cbs1.bank.local:9182", resources_exporter="windows"))
    assert response.status_code == 302
    server = db.session.scalar(select(Server))
    assert (server.resources_endpoint, server.resources_exporter) == ("cbs1.bank.local:9182",
                                                                      "windows")
    html = client.get(f"/servers/{server.id}/edit").get_data(as_text=True)
    assert _details(html) == "<details open>"
    assert re.search(r'name="resources_endpoint"[^>]*value="cbs1.bank.local:9182"', html)
    assert '<option value="windows" selected>' in html


def test_a_blank_address_clears_it_and_a_form_without_the_fields_keeps_node(client):
    sign_in(client)
    server = make_server("web-1", resources_endpoint="web-1.bank.local:9100")
    post_form(client, f"/servers/{server.id}/edit", server_form(
        name="web-1", resources_endpoint="", resources_exporter="node"))
    db.session.refresh(server)
    assert server.resources_endpoint is None
    post_form(client, "/servers/new", server_form(name="web-2"))
    assert db.session.scalar(select(Server).where(Server.name == "web-2")).resources_exporter == "node"


def test_a_bad_address_is_an_error_beside_the_field_escaped_and_kept(client):
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(resources_endpoint="<b>db1</b>"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="resources_endpoint"' in html
    assert _details(html) == "<details open>"
    assert 'value="&lt;b&gt;db1&lt;/b&gt;"' in html and "<b>db1</b>" not in html
    assert server_count() == 0
