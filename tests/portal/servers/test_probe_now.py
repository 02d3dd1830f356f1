""""Test now": one probe through the real exporter's /probe, before a server is saved."""

import socket

import pytest

from tests.conftest import fresh_app, make_config
from tests.factories import login, make_user
from tests.support.binaries import free_port
from tests.support.exporter_process import exporter_process


@pytest.fixture(scope="module")
def exporter_url(tmp_path_factory):
    with exporter_process(tmp_path_factory.mktemp("exporter"),
                          make_config("sqlite://").sd_token) as url:
        yield url


@pytest.fixture
def probe_client(migrated, exporter_url):
    with fresh_app(make_config(migrated, EXPORTER_URL=exporter_url)) as app:
        yield app.test_client()


def test_a_closed_port_is_reported_with_its_reason(probe_client):
    headers = login(probe_client, make_user("it_staff"))
    body = {"name": "db", "kind": "tcp", "target": f"127.0.0.1:{free_port()}"}
    answer = probe_client.post("/api/servers/test", json=body, headers=headers).get_json()
    assert answer["success"] is False and answer["reason"] == "connection refused"


def test_a_listening_port_succeeds(probe_client):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        headers = login(probe_client, make_user("it_staff"))
        body = {"name": "db", "kind": "tcp", "target": f"127.0.0.1:{listener.getsockname()[1]}"}
        answer = probe_client.post("/api/servers/test", json=body, headers=headers).get_json()
    assert answer["success"] is True and answer["latency_ms"] >= 0


def test_the_spec_is_validated_first(probe_client):
    headers = login(probe_client, make_user("it_staff"))
    response = probe_client.post("/api/servers/test", headers=headers,
                                 json={"name": "db", "kind": "tcp", "target": "no-port"})
    assert response.status_code == 400 and "target" in response.get_json()["details"]


def test_it_needs_servers_manage(probe_client):
    headers = login(probe_client, make_user("customer_engagement"))
    assert probe_client.post("/api/servers/test", json={}, headers=headers).status_code == 403


def test_an_unreachable_exporter_is_a_503(client):
    headers = login(client, make_user("admin"))
    response = client.post("/api/servers/test", headers=headers,
                           json={"name": "x", "kind": "icmp", "target": "127.0.0.1"})
    assert response.status_code == 503


def test_the_form_button_tests_without_saving(probe_client):
    from portal.extensions import db
    from portal.servers.models import Server
    from tests.portal.servers.pages import server_form
    from tests.support.pages import csrf, sign_in

    sign_in(probe_client, "it_staff")
    response = probe_client.post("/servers/new", data=server_form(
        csrf_token=csrf(probe_client), action="test", kind="tcp",
        target=f"127.0.0.1:{free_port()}"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="probe-result"' in html and "connection refused" in html
    assert db.session.scalar(db.select(db.func.count(Server.id))) == 0
