"""The management pages: list, form (components as lines), who may change them."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.status_pages.models import StatusPage
from tests.factories import make_server
from tests.support.pages import post_form, sign_in


def _form(server, **overrides) -> dict:
    data = {"name": "E-Banking", "slug": "ebanking", "public": "on", "note": "",
            "components": f"server:{server.id} | Online banking | Channels\n"
                          "label:environment=production | Core"}
    data.update(overrides)
    return data


def test_a_manager_creates_and_edits_a_page_through_the_form(client):
    sign_in(client, "it_staff")
    server = make_server("ebank-web-01")
    response = post_form(client, "/status-pages", _form(server))
    assert response.status_code == 302, response.get_data(as_text=True)
    page = db.session.scalars(select(StatusPage)).one()
    assert page.public is True and page.show_internal is False
    assert [(c.server_id, c.label_key, c.label_value, c.display_name, c.display_group)
            for c in page.components] == [
        (server.id, None, None, "Online banking", "Channels"),
        (None, "environment", "production", "Core", None)]
    listing = client.get("/status-pages").get_data(as_text=True)
    assert "/status/ebanking" in listing and "E-Banking" in listing
    edit = client.get(f"/status-pages/{page.id}/edit").get_data(as_text=True)
    assert f"server:{server.id} | Online banking | Channels" in edit
    assert post_form(client, f"/status-pages/{page.id}",
                     _form(server, public="", note="Slow logins")).status_code == 302
    db.session.expire_all()
    assert page.public is False and page.note == "Slow logins"
    assert post_form(client, f"/status-pages/{page.id}/delete").status_code == 302
    assert db.session.scalars(select(StatusPage)).first() is None


def test_bad_lines_and_fields_are_shown_next_to_their_fields(client):
    sign_in(client, "admin")
    server = make_server()
    response = post_form(client, "/status-pages",
                         _form(server, slug="Bad Slug", components="nonsense line"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="components"' in html and "line 1" in html
    response = post_form(client, "/status-pages", _form(server, slug="Bad Slug", name=""))
    html = response.get_data(as_text=True)
    assert 'data-field-error="slug"' in html and 'data-field-error="name"' in html
    assert db.session.scalars(select(StatusPage)).first() is None


def test_viewers_see_the_list_but_no_form(client):
    sign_in(client, "flexipay_support")
    server = make_server()
    html = client.get("/status-pages").get_data(as_text=True)
    assert 'data-testid="new-status-page"' not in html
    assert client.get("/status-pages/new").status_code == 403
    assert post_form(client, "/status-pages", _form(server)).status_code == 403
