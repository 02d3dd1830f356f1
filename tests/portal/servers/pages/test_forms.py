"""The add, edit and delete forms of a server."""

import re

from sqlalchemy import select

from portal.extensions import db
from portal.servers.models import Server
from portal.settings.service import update_settings
from tests.factories import make_server
from tests.portal.servers.pages import server_count, server_form
from tests.support.pages import csrf, post_form, sign_in


def test_the_add_form_is_prefilled_from_the_probe_defaults(client):
    user = sign_in(client)
    update_settings({"probe_interval_s": 120, "probe_timeout_s": 7}, user)
    html = client.get("/servers/new").get_data(as_text=True)
    assert re.search(r'name="interval_s"[^>]*value="120"', html)
    assert re.search(r'name="timeout_s"[^>]*value="7"', html)
    assert f'name="csrf_token" value="{csrf(client)}"' in html


def test_adding_a_server_through_the_form(client):
    user = sign_in(client, "ebanking_support")
    response = post_form(client, "/servers/new", server_form())
    assert response.status_code == 302
    server = db.session.scalar(select(Server).where(Server.name == "core-banking"))
    assert response.location.endswith(f"/servers/{server.id}")
    assert server.label_map == {"team": "payments", "site": "kampala"}
    assert server.environment == "production" and server.group_name == "core"
    assert server.owner_id == user.id
    assert server.enabled and server.tls_verify and not server.http_keyword_regex
    assert server.http_max_latency_ms is None and server.http_keyword is None
    assert "Server core-banking added." in client.get(response.location).get_data(as_text=True)


def test_unchecked_boxes_save_as_false(client):
    sign_in(client)
    post_form(client, "/servers/new", server_form(enabled=None, down_after="1", tls_verify=None))
    server = db.session.scalar(select(Server))
    assert not server.enabled and server.down_after == 1 and not server.tls_verify


def test_a_tcp_target_without_port_is_a_field_error_and_nothing_is_written(client):
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(kind="tcp", target="db1.bank.example"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="target"' in html
    assert "Must be host:port" in html  # beside the field, as a sentence
    assert 'value="db1.bank.example"' in html  # the user's input is kept
    assert 'value="tcp" selected' in html
    assert "team=payments\nsite=kampala</textarea>" in html
    assert server_count() == 0


def test_a_malformed_label_line_is_an_error_on_labels(client):
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(labels="team=payments\njust-text"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="labels"' in html and "Line 2" in html
    assert server_count() == 0


def test_several_errors_show_at_once(client):
    sign_in(client)
    response = post_form(client, "/servers/new",
                         server_form(name="", interval_s="often", labels="oops"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("name", "interval_s", "labels"):
        assert f'data-field-error="{field}"' in html, field


def test_a_duplicate_name_is_an_error_on_name(client):
    sign_in(client)
    make_server("core-banking")
    response = post_form(client, "/servers/new", server_form(name="Core-Banking"))
    assert response.status_code == 409
    assert 'data-field-error="name"' in response.get_data(as_text=True)
    assert server_count() == 1


def test_a_post_without_the_csrf_field_is_refused(client):
    sign_in(client)
    response = client.post("/servers/new", data=server_form())
    assert response.status_code == 403
    assert "CSRF" in response.get_data(as_text=True)
    wrong = client.post("/servers/new", data={**server_form(), "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert server_count() == 0


def test_editing_a_server_through_the_form(client):
    sign_in(client)
    server = make_server("web-1", labels={"old": "label"})
    form_page = client.get(f"/servers/{server.id}/edit").get_data(as_text=True)
    assert "old=label</textarea>" in form_page
    response = post_form(client, f"/servers/{server.id}/edit",
                         server_form(name="web-renamed", kind="icmp", target="10.0.0.7", labels=""))
    assert response.status_code == 302
    db.session.refresh(server)
    assert (server.name, server.kind, server.target) == ("web-renamed", "icmp", "10.0.0.7")
    assert server.label_map == {}


def test_a_bad_edit_leaves_the_server_unchanged(client):
    sign_in(client)
    server = make_server("web-1")
    response = post_form(client, f"/servers/{server.id}/edit", server_form(name="web-1", timeout_s="45"))
    assert response.status_code == 400
    assert 'data-field-error="timeout_s"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Server, server.id).timeout_s == 10


def test_deleting_asks_first_then_deletes_on_post(client):
    sign_in(client)
    server = make_server("old-box")
    confirm = client.get(f"/servers/{server.id}/delete")
    assert confirm.status_code == 200
    assert "Delete old-box?" in confirm.get_data(as_text=True)
    assert server_count() == 1
    response = post_form(client, f"/servers/{server.id}/delete")
    assert response.status_code == 302 and response.location.endswith("/servers")
    assert server_count() == 0


def test_deleting_without_csrf_is_refused(client):
    sign_in(client)
    server = make_server("old-box")
    assert client.post(f"/servers/{server.id}/delete").status_code == 403
    assert server_count() == 1


# --- history on the detail page -----------------------------------------------------------
