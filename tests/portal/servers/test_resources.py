"""A server's resources endpoint (its node_exporter or windows_exporter) over the API:
checked as host:port, held to the probe policy, shown, edited and audited like the rest."""

import pytest

from portal.extensions import db
from portal.servers.models import Server
from tests.conftest import fresh_app, make_config
from tests.factories import login, make_user
from tests.portal.audit.trail import audit_rows

HTTP = {"name": "core-banking", "kind": "http", "target": "https://cbs.bank.example/health"}


@pytest.fixture
def headers(client):
    return login(client, make_user("it_staff"))


@pytest.mark.parametrize(("body", "endpoint", "exporter"), [
    ({"resources_endpoint": "cbs1.bank.local:9100"}, "cbs1.bank.local:9100", "node"),
    ({"resources_endpoint": " 10.0.0.7:9182 ", "resources_exporter": "windows"}, "10.0.0.7:9182",
     "windows"),
    ({"resources_endpoint": "[2001:db8::7]:9100"}, "[2001:db8::7]:9100", "node"),
    ({"resources_endpoint": ""}, None, "node"),
    ({}, None, "node"),
])
def test_an_endpoint_is_stored_and_shown(client, headers, body, endpoint, exporter):
    response = client.post("/api/servers", json={**HTTP, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    shown = client.get(f"/api/servers/{response.get_json()['id']}", headers=headers).get_json()
    assert (shown["resources_endpoint"], shown["resources_exporter"]) == (endpoint, exporter)
    assert db.session.get(Server, shown["id"]).resources_endpoint == endpoint


@pytest.mark.parametrize(("kind", "target"), [
    ("icmp", "core-sw1.bank.local"), ("tcp", "db1.bank.local:5432"), ("dns", "www.bank.example")])
def test_any_kind_of_server_may_have_one(client, headers, kind, target):
    response = client.post("/api/servers", headers=headers, json={
        "name": f"{kind}-host", "kind": kind, "target": target,
        "resources_endpoint": "10.0.0.8:9100"})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"resources_endpoint": "cbs1.bank.local"}, "resources_endpoint", "must be host:port"),
    ({"resources_endpoint": "cbs1.bank.local:70000"}, "resources_endpoint", "port between 1"),
    ({"resources_endpoint": "http://cbs1.bank.local:9100/metrics"}, "resources_endpoint",
     "must be host:port"),
    ({"resources_endpoint": "-bad-:9100"}, "resources_endpoint", "not a valid host name"),
    ({"resources_endpoint": "a" * 250 + ".b:9100"}, "resources_endpoint", "at most 255"),
    ({"resources_exporter": "snmp"}, "resources_exporter", "must be one of node or windows"),
    ({"labels": {"exporter": "node"}}, "labels", "'exporter' is reserved"),
])
def test_a_bad_value_is_a_400_naming_the_field_and_writes_nothing(client, headers, body, field,
                                                                  message):
    response = client.post("/api/servers", json={**HTTP, **body}, headers=headers)
    assert response.status_code == 400
    details = response.get_json()["details"]
    assert set(details) == {field} and message in details[field], details
    assert db.session.scalar(db.select(Server)) is None


@pytest.fixture
def policy_client(migrated):
    with fresh_app(make_config(migrated, PROMETHEUS_URL="http://127.0.0.1:9090")) as app:
        yield app.test_client()


@pytest.mark.parametrize(("endpoint", "reason"), [
    ("169.254.169.254:80", "169.254.169.254 is in 169.254.0.0/16"),
    ("[fe80::1]:9100", "fe80::/10"),
    ("localhost:9090", "port 9090 is one of servermon's own services"),
])
def test_an_address_the_probe_policy_denies_is_not_scraped(policy_client, endpoint, reason):
    """Prometheus scrapes from inside the bank's network, as the probes do."""
    headers = login(policy_client, make_user("it_staff"))
    response = policy_client.post("/api/servers", headers=headers,
                                  json={**HTTP, "resources_endpoint": endpoint})
    assert response.status_code == 400
    details = response.get_json()["details"]
    assert list(details) == ["resources_endpoint"]
    assert details["resources_endpoint"].startswith("not scraped: ") and reason in details[
        "resources_endpoint"]


def test_a_denied_target_and_endpoint_are_named_together(policy_client):
    headers = login(policy_client, make_user("it_staff"))
    response = policy_client.post("/api/servers", headers=headers, json={
        "name": "meta", "kind": "tcp", "target": "169.254.169.254:80",
        "resources_endpoint": "169.254.169.254:9100"})
    assert response.status_code == 400
    assert set(response.get_json()["details"]) == {"target", "resources_endpoint"}


def test_an_edit_sets_changes_and_clears_it_each_in_the_audit_trail(client, headers):
    server = client.post("/api/servers", json=HTTP, headers=headers).get_json()
    path = f"/api/servers/{server['id']}"
    changed = client.patch(path, headers=headers, json={
        "resources_endpoint": "cbs1.bank.local:9182", "resources_exporter": "windows"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["resources_endpoint"] == "cbs1.bank.local:9182"
    [first] = audit_rows("server.updated")
    assert first.before == {"resources_endpoint": None, "resources_exporter": "node"}
    assert first.after == {"resources_endpoint": "cbs1.bank.local:9182",
                           "resources_exporter": "windows"}
    refused = client.patch(path, headers=headers, json={"resources_endpoint": "cbs1"})
    assert refused.status_code == 400 and list(refused.get_json()["details"]) == [
        "resources_endpoint"]
    cleared = client.patch(path, headers=headers, json={"resources_endpoint": None})
    assert cleared.get_json()["resources_endpoint"] is None
    second = audit_rows("server.updated")[-1]
    assert second.after == {"resources_endpoint": None}
