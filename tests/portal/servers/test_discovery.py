"""GET /api/sd/targets: the exporter's view of the registry, behind the SD token."""

from sqlalchemy import update

from portal.extensions import db
from portal.servers import discovery, page_cache
from portal.servers.models import Server
from portal.servers.service import spec_of, update_server, validate_spec
from tests.factories import make_server
from wire import DEPLOYMENT_HEADER

SD = {"Authorization": "Bearer sd-token-for-tests-0123456789"}


def test_it_serves_one_group_per_enabled_server(client):
    server = make_server("pay-api", environment="production", group="payments",
                         labels={"team": "cards"}, http_keyword="OK")
    make_server("old", enabled=False)
    response = client.get("/api/sd/targets", headers=SD)
    assert response.status_code == 200
    groups = response.get_json()
    assert len(groups) == 1
    labels = groups[0]["labels"]
    assert groups[0]["targets"] == [server.target]
    assert labels["server_id"] == str(server.id) and labels["server"] == "pay-api"
    assert labels["kind"] == "http" and labels["environment"] == "production"
    assert labels["group"] == "payments" and labels["team"] == "cards"
    assert labels["__meta_servermon_interval_s"] == "30"
    assert labels["__meta_servermon_http_keyword"] == "OK"
    assert labels["__meta_servermon_tls_verify"] == "true"
    assert labels["__meta_servermon_http_max_latency_ms"] == ""
    assert all(isinstance(value, str) for value in labels.values())


def test_it_names_the_deployment(client, app):
    response = client.get("/api/sd/targets", headers=SD)
    assert response.headers[DEPLOYMENT_HEADER] == app.config["SERVERMON"].deployment
    assert response.headers[DEPLOYMENT_HEADER].startswith("db-")


def test_it_refuses_a_missing_or_wrong_token(client):
    assert client.get("/api/sd/targets").status_code == 401
    wrong = client.get("/api/sd/targets", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_nodes_lists_each_enabled_servers_exporter_with_its_labels(client):
    linux = make_server("cbs-db", kind="tcp", environment="production", group="core",
                        labels={"team": "dba", "device": "san1"},
                        resources_endpoint="cbs-db.bank.local:9100")
    windows = make_server("ad-dc1", kind="icmp", resources_endpoint="10.0.0.5:9182",
                          resources_exporter="windows")
    make_server("no-exporter")
    make_server("paused", enabled=False, resources_endpoint="paused.bank.local:9100")
    response = client.get("/api/sd/nodes", headers=SD)
    assert response.status_code == 200
    assert response.get_json() == [
        {"targets": ["cbs-db.bank.local:9100"],
         "labels": {"server_id": str(linux.id), "server": "cbs-db", "instance": "cbs-db",
                    "exporter": "node", "environment": "production", "group": "core",
                    "team": "dba"}},
        {"targets": ["10.0.0.5:9182"],
         "labels": {"server_id": str(windows.id), "server": "ad-dc1", "instance": "ad-dc1",
                    "exporter": "windows"}},
    ]


def test_nodes_refuses_a_missing_or_wrong_token(client):
    make_server("cbs-db", resources_endpoint="cbs-db.bank.local:9100")
    assert client.get("/api/sd/nodes").status_code == 401
    wrong = client.get("/api/sd/nodes", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "cbs-db" not in wrong.get_data(as_text=True)


def _names(client) -> list[str]:
    response = client.get("/api/sd/targets", headers=SD)
    assert response.status_code == 200
    return [group["labels"]["server"] for group in response.get_json()]


def test_an_answer_past_its_lifetime_is_served_while_its_successor_is_computed_apart(
        client, handed_off):
    """At 10,000 servers the answer is a second of CPU: a request that paid for it held up
    every ping its worker was serving. An edit made behind the portal's back (no change
    notice) shows once the successor is in; a change notice shows at once."""
    server = make_server("pay-api")
    jobs = handed_off
    assert _names(client) == ["pay-api"] and jobs == []  # nothing cached: computed here
    db.session.execute(update(Server).where(Server.id == server.id).values(name="pay-api-2"))
    db.session.commit()
    assert _names(client) == ["pay-api"]  # the old answer, its successor handed off
    assert len(jobs) == 1
    jobs.pop()()
    assert _names(client) == ["pay-api-2"]
    make_server("cards-api")  # through the service's change notice
    assert _names(client) == ["pay-api-2", "cards-api"]


def test_past_its_lifetime_an_unchanged_registry_is_not_built_again(client, handed_off,
                                                                    monkeypatch):
    """The lifetime's check is one query; the build (a second of CPU at 10,000 servers) runs
    only when a server changed. A label edit alone (no column of the server's row) counts,
    even when its change notice is lost."""
    server = make_server("pay-api", labels={"team": "cards"})
    jobs, built = handed_off, []
    real = discovery.target_group
    monkeypatch.setattr(discovery, "target_group",
                        lambda *args: built.append(args[0].id) or real(*args))
    assert _names(client) == ["pay-api"] and built == [server.id]
    assert _names(client) == ["pay-api"]
    jobs.pop()()  # past the lifetime: checked, not built
    assert built == [server.id]
    with monkeypatch.context() as lost:
        lost.setattr(page_cache, "bump", lambda *keys: None)  # Redis failed the notice
        update_server(server, validate_spec({**spec_of(server), "labels": {"team": "loans"}}))
    assert _names(client) == ["pay-api"]  # the old answer once more, its check handed off
    jobs.pop()()
    assert built == [server.id, server.id]
    response = client.get("/api/sd/targets", headers=SD)
    assert response.get_json()[0]["labels"]["team"] == "loans"
