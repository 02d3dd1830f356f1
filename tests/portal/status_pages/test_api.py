"""/api/status-pages: who may read and write, what bad input gets, and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.factories import login, make_server, make_user


def _body(server, **overrides) -> dict:
    body = {"name": "FlexiPay status", "slug": "flexipay", "public": True,
            "note": None, "components": [
                {"server_id": server.id, "display_name": "Payments API", "display_group": "Pay"},
                {"label": "environment=production", "display_name": "Everything else"},
            ]}
    body.update(overrides)
    return body


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("status_page.%")).order_by(AuditEvent.id)))


def test_a_manager_creates_reads_changes_and_deletes_a_page_each_audited(client):
    headers = login(client, make_user("it_staff"))
    server = make_server("pay-api-01")
    created = client.post("/api/status-pages", json=_body(server), headers=headers)
    assert created.status_code == 201, created.get_json()
    page = created.get_json()
    assert page["slug"] == "flexipay" and page["public"] is True
    assert page["show_internal"] is False
    assert page["components"] == [
        {"server_id": server.id, "label": None, "display_name": "Payments API",
         "display_group": "Pay"},
        {"server_id": None, "label": "environment=production",
         "display_name": "Everything else", "display_group": None}]

    listed = client.get("/api/status-pages", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [page["id"]]

    changed = client.patch(f"/api/status-pages/{page['id']}", headers=headers,
                           json={"note": "Card payments are slow; we are on it."})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["note"] == "Card payments are slow; we are on it."
    assert len(changed.get_json()["components"]) == 2

    assert client.delete(f"/api/status-pages/{page['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/status-pages/{page['id']}", headers=headers).status_code == 404
    assert _actions() == ["status_page.created", "status_page.updated", "status_page.deleted"]
    updated = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "status_page.updated")).one()
    assert updated.before["note"] is None
    assert updated.after["note"] == "Card payments are slow; we are on it."


def test_every_bad_field_is_named_at_once(client):
    headers = login(client, make_user("admin"))
    response = client.post("/api/status-pages", headers=headers, json={
        "name": "", "slug": "Not A Slug", "public": "sometimes",
        "components": [{"display_name": "x"}, {"server_id": 1, "label": "a=b",
                                                "display_name": "y"},
                       {"label": "no-equals", "display_name": "z"}]})
    assert response.status_code == 400
    details = response.get_json()["details"]
    for name in ("name", "slug", "public", "components.0", "components.1", "components.2"):
        assert name in details, details
    assert "slug" in response.get_json()["error"]


@pytest.mark.parametrize("slug", ["a", "x" * 61, "UPPER", "with space", "under_score", "émoji"])
def test_a_slug_must_be_lowercase_letters_digits_and_hyphens(client, slug):
    headers = login(client, make_user("admin"))
    response = client.post("/api/status-pages", headers=headers,
                           json={"name": "P", "slug": slug})
    assert response.status_code == 400
    assert "slug" in response.get_json()["details"]


def test_a_taken_slug_and_an_unknown_server_are_refused(client):
    headers = login(client, make_user("admin"))
    server = make_server()
    assert client.post("/api/status-pages", headers=headers,
                       json=_body(server)).status_code == 201
    again = client.post("/api/status-pages", headers=headers, json=_body(
        server, components=[{"server_id": 999999, "display_name": "Gone"}]))
    assert again.status_code == 400
    assert set(again.get_json()["details"]) == {"slug", "components.0.server_id"}
    other = client.post("/api/status-pages", headers=headers,
                        json=_body(server, slug="other")).get_json()
    clash = client.patch(f"/api/status-pages/{other['id']}", headers=headers,
                         json={"slug": "flexipay"})
    assert clash.status_code == 400 and "slug" in clash.get_json()["details"]
    typo = client.patch(f"/api/status-pages/{other['id']}", headers=headers,
                        json={"nmae": "typo"})
    assert typo.status_code == 400 and "nmae" in typo.get_json()["details"]
    assert _actions() == ["status_page.created", "status_page.created"]


@pytest.mark.parametrize("role", ["customer_engagement", "flexipay_support"])
def test_viewers_read_but_may_not_write(client, role):
    manager = login(client, make_user("it_staff"))
    page = client.post("/api/status-pages", headers=manager,
                       json=_body(make_server())).get_json()
    headers = login(client, make_user(role))
    assert client.get("/api/status-pages", headers=headers).status_code == 200
    assert client.get(f"/api/status-pages/{page['id']}", headers=headers).status_code == 200
    assert client.post("/api/status-pages", headers=headers,
                       json=_body(make_server(), slug="mine")).status_code == 403
    assert client.patch(f"/api/status-pages/{page['id']}", headers=headers,
                        json={"note": "x"}).status_code == 403
    assert client.delete(f"/api/status-pages/{page['id']}", headers=headers).status_code == 403
    assert _actions() == ["status_page.created"]


def test_anonymous_callers_get_401(client):
    assert client.get("/api/status-pages").status_code == 401
    assert client.post("/api/status-pages", json={"name": "x", "slug": "xx"}).status_code == 401
