""""Test now": one probe through the real exporter's /probe, before a server is saved."""

import os
import socket
import subprocess
import sys

import pytest
import requests

from tests.conftest import ROOT, fresh_app, make_config
from tests.factories import login, make_user
from tests.support.binaries import free_port
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def exporter_url(tmp_path_factory):
    port = free_port()
    config = make_config("sqlite://")
    log = (tmp_path_factory.mktemp("exporter") / "exporter.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "EXPORTER_PORT": str(port), "EXPORTER_LISTEN": "127.0.0.1",
             "SD_TOKEN": config.sd_token, "PORTAL_URL": "http://127.0.0.1:9",
             "REDIS_URL": "redis://127.0.0.1:6379/13"})
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(up, timeout=20, what="exporter")
    yield url
    process.terminate()
    process.wait(timeout=10)
    log.close()


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
