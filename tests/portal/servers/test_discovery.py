"""GET /api/sd/targets: the exporter's view of the registry, behind the SD token."""

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
