"""The server registry over the API: validation per kind, filters, pagination, edits."""

import json

import pytest

from portal.extensions import db
from portal.redis_client import get_redis
from portal.servers.models import Server
from tests.factories import login, make_server, make_user
from wire import TARGETS_CHANNEL, channel

HTTP = {"name": "core-banking", "kind": "http", "target": "https://cbs.bank.example/health"}


@pytest.fixture
def headers(client):
    return login(client, make_user("it_staff"))


def test_it_registers_a_server_with_defaults_from_settings(client, headers):
    response = client.post("/api/servers", json=HTTP, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["interval_s"] == 30 and body["timeout_s"] == 10
    assert body["status"] == "unknown" and body["last_checked"] is None
    assert body["http_accepted_statuses"] == "200-399"
    assert body["owner"] is not None
    assert body["down_after"] == 2 and "confirm_down" not in body


@pytest.mark.parametrize(("sent", "down_after"), [
    ({"down_after": 4}, 4), ({"confirm_down": False}, 1), ({"confirm_down": True}, 2)])
def test_down_after_n_failed_probes_and_the_old_confirm_down_still_read(
        client, headers, sent, down_after):
    response = client.post("/api/servers", json={**HTTP, **sent}, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["down_after"] == down_after


@pytest.mark.parametrize("sent", [{"down_after": 0}, {"down_after": 6},
                                  {"confirm_down": "sometimes"}])
def test_a_bad_down_after_is_a_400_naming_the_field(client, headers, sent):
    response = client.post("/api/servers", json={**HTTP, **sent}, headers=headers)
    assert response.status_code == 400
    assert set(response.get_json()["details"]) == set(sent)


@pytest.mark.parametrize(
    ("kind", "target", "extra"),
    [
        ("http", "http://10.1.2.3:8080/ping", {}),
        ("http", "https://[2001:db8::1]/", {"tls_verify": False}),
        ("tcp", "db1.bank.local:5432", {"tcp_tls": False}),
        ("tcp", "[2001:db8::5]:443", {"tcp_tls": True}),
        ("icmp", "10.0.0.1", {}),
        ("icmp", "gateway.bank.local", {}),
        ("dns", "www.bank.example", {"dns_record_type": "A", "dns_expected": "10.0.0.7"}),
        ("dns", "10.0.0.7", {"dns_record_type": "PTR"}),
        ("dns", "_ldap._tcp.bank.local", {"dns_record_type": "SRV",
                                          "dns_resolver": "10.0.0.53:5353"}),
    ],
)
def test_it_accepts_valid_targets_per_kind(client, headers, kind, target, extra):
    body = {"name": f"{kind}-ok", "kind": kind, "target": target, **extra}
    response = client.post("/api/servers", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "http", "target": "ftp://files.bank.example"}, "target"),
        ({"kind": "http", "target": "https://user:pw@cbs.bank.example"}, "target"),
        ({"kind": "http", "target": "https://bad host/"}, "target"),
        ({"kind": "tcp", "target": "db1.bank.local"}, "target"),
        ({"kind": "tcp", "target": "db1.bank.local:70000"}, "target"),
        ({"kind": "icmp", "target": "http://x"}, "target"),
        ({"kind": "dns", "target": "-bad-.example"}, "target"),
        ({"kind": "smtp"}, "kind"),
        ({"interval_s": 5}, "interval_s"),
        ({"interval_s": 20, "timeout_s": 20}, "timeout_s"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"http_accepted_statuses": "200-199"}, "http_accepted_statuses"),
        ({"http_accepted_statuses": "abc"}, "http_accepted_statuses"),
        ({"http_keyword": "(", "http_keyword_regex": True}, "http_keyword"),
        ({"http_max_latency_ms": 20000}, "http_max_latency_ms"),
        ({"labels": {"server": "x"}}, "labels"),
        ({"labels": {"bad-key": "x"}}, "labels"),
        ({"dns_record_type": "ANY"}, "dns_record_type"),
        ({"name": ""}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"owner_id": 999999}, "owner_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_it_names_the_bad_field_and_writes_nothing(client, headers, body, field):
    response = client.post("/api/servers", json={**HTTP, **body}, headers=headers)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["details"], response.get_json()
    assert db.session.scalar(db.select(db.func.count(Server.id))) == 0


def test_names_are_unique_regardless_of_case(client, headers):
    make_server("Core-Banking")
    response = client.post("/api/servers", json=HTTP, headers=headers)
    assert response.status_code == 409 and "name" in response.get_json()["details"]


def test_an_edit_is_validated_against_the_whole_server(client, headers):
    server = make_server("edge", kind="http")
    response = client.patch(f"/api/servers/{server.id}", json={"kind": "tcp"}, headers=headers)
    assert response.status_code == 400 and "target" in response.get_json()["details"]
    ok = client.patch(f"/api/servers/{server.id}",
                      json={"kind": "tcp", "target": "edge.bank.example:443",
                            "labels": {"team": "payments"}, "environment": "production"},
                      headers=headers)
    assert ok.status_code == 200
    assert ok.get_json()["labels"] == {"team": "payments"}
    assert ok.get_json()["environment"] == "production"


def test_labels_are_replaced_not_merged(client, headers):
    server = make_server(labels={"team": "payments", "tier": "1"})
    response = client.patch(f"/api/servers/{server.id}", json={"labels": {"tier": "2"}},
                            headers=headers)
    assert response.get_json()["labels"] == {"tier": "2"}


def test_delete_removes_the_server(client, headers):
    server = make_server()
    assert client.delete(f"/api/servers/{server.id}", headers=headers).status_code == 204
    assert client.get(f"/api/servers/{server.id}", headers=headers).status_code == 404


def test_changes_are_announced_to_the_exporter(client, headers):
    """On the channel the exporter itself listens to (its own name for it, not ours)."""
    pubsub = get_redis().pubsub()
    pubsub.subscribe(channel(TARGETS_CHANNEL, get_redis()))
    pubsub.get_message(timeout=1)
    created = client.post("/api/servers", json=HTTP, headers=headers).get_json()
    message = pubsub.get_message(timeout=2)
    assert json.loads(message["data"]) == {"server_id": created["id"], "action": "created"}
    pubsub.close()


def test_listing_filters_by_name_kind_label_environment_and_status(client, headers):
    make_server("pay-api", kind="http", environment="production", labels={"team": "payments"})
    make_server("pay-db", kind="tcp", environment="production", labels={"team": "payments"})
    make_server("hr-web", kind="http", environment="staging", labels={"team": "hr"})

    def names(query):
        response = client.get(f"/api/servers?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["name"] for item in response.get_json()["items"]]

    assert names("name=pay") == ["pay-api", "pay-db"]
    assert names("kind=http") == ["hr-web", "pay-api"]
    assert names("label=team=payments&kind=tcp") == ["pay-db"]
    assert names("label=environment=staging") == ["hr-web"]
    assert names("environment=production&sort=-name") == ["pay-db", "pay-api"]
    assert names("status=unknown") == ["hr-web", "pay-api", "pay-db"]
    assert names("status=down") == []
    assert names("name=%25") == []


def test_listing_rejects_bad_filters_by_name(client, headers):
    for query, field in [("status=sideways", "status"), ("label=team", "label"),
                         ("page=0", "page"), ("sort=target", "sort")]:
        response = client.get(f"/api/servers?{query}", headers=headers)
        assert response.status_code == 400, query
        assert field in response.get_json()["details"], query


def test_listing_paginates(client, headers):
    for i in range(7):
        make_server(f"srv-{i:02d}")
    body = client.get("/api/servers?per_page=3&page=3", headers=headers).get_json()
    assert body["total"] == 7 and body["pages"] == 3
    assert [item["name"] for item in body["items"]] == ["srv-06"]


def test_viewers_can_list_but_not_change_servers(client):
    headers = login(client, make_user("customer_engagement"))
    server = make_server()
    assert client.get("/api/servers", headers=headers).status_code == 200
    assert client.get(f"/api/servers/{server.id}", headers=headers).status_code == 200
    assert client.post("/api/servers", json=HTTP, headers=headers).status_code == 403
    assert client.patch(f"/api/servers/{server.id}", json={"name": "x"},
                        headers=headers).status_code == 403
