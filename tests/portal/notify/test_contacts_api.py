"""/api/servers/<id>/contacts: extra people paged for one server."""

import pytest
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.notify.models import ServerContact
from tests.factories import login, make_server, make_user


def url(server, contact_id=None):
    base = f"/api/servers/{server.id}/contacts"
    return f"{base}/{contact_id}" if contact_id else base


def test_a_manager_adds_lists_and_removes_contacts(notify_client):
    server = make_server()
    headers = login(notify_client, make_user("it_staff"))
    added = notify_client.post(url(server), headers=headers,
                               json={"name": "Vendor NOC", "phone": "+256700000099"})
    assert added.status_code == 201
    contact = added.get_json()
    assert contact == {"id": contact["id"], "server_id": server.id, "name": "Vendor NOC",
                       "email": None, "phone": "+256700000099", "tier": 1}
    reader = login(notify_client, make_user("ebanking_support"))
    assert notify_client.get(url(server), headers=reader).get_json()["items"] == [contact]
    assert notify_client.delete(url(server, contact["id"]), headers=headers).status_code == 204
    assert notify_client.get(url(server), headers=reader).get_json()["items"] == []


@pytest.mark.parametrize(("body", "field"), [({"name": "x"}, "email"),
                                             ({"name": "x", "phone": "0700"}, "phone"),
                                             ({"name": "x", "email": "nope"}, "email"),
                                             ({"email": "a@b.example"}, "name"),
                                             ({"name": "x\r\ny", "email": "a@b.example"}, "name"),
                                             ({"name": "x", "email": "a@b.example", "cc": 1},
                                              "cc")])
def test_contacts_are_validated_naming_the_field(notify_client, body, field):
    server = make_server()
    headers = login(notify_client, make_user("it_staff"))
    response = notify_client.post(url(server), json=body, headers=headers)
    assert response.status_code == 400 and field in response.get_json()["details"]


def test_reading_contacts_needs_logs_view(notify_client):
    server = make_server()
    headers = login(notify_client, make_user("customer_engagement"))
    assert notify_client.get(url(server), headers=headers).status_code == 403


def test_changing_contacts_needs_servers_manage(notify_client):
    server = make_server()
    db.session.add(ServerContact(server_id=server.id, name="NOC", email="noc@bank.example"))
    db.session.commit()
    headers = login(notify_client, make_user("flexipay_support"))
    assert notify_client.post(url(server), json={}, headers=headers).status_code == 403
    assert notify_client.delete(url(server, 1), headers=headers).status_code == 403
    assert notify_client.application.test_client().get(url(server)).status_code == 401


def test_unknown_servers_and_other_servers_contacts_are_not_found(notify_client):
    server, other = make_server(), make_server()
    contact = ServerContact(server_id=other.id, name="NOC", email="noc@bank.example")
    db.session.add(contact)
    db.session.commit()
    headers = login(notify_client, make_user("it_staff"))
    assert notify_client.get("/api/servers/999999/contacts", headers=headers).status_code == 404
    assert notify_client.delete(url(server, contact.id), headers=headers).status_code == 404
    assert db.session.get(ServerContact, contact.id) is not None


def test_the_database_refuses_a_contact_nobody_could_reach(notify_client):
    db.session.add(ServerContact(server_id=make_server().id, name="nobody"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
