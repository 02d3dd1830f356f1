"""Downtime history over the API, acknowledgement, and maintenance windows with real silences."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from portal.dbtypes import utcnow
from tests.conftest import fresh_app, make_config
from tests.factories import login, make_incident, make_server, make_user
from tests.support.binaries import alertmanager

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_incidents_filter_by_server_state_and_overlap(client):
    a, b = make_server("a"), make_server("b")
    make_incident(a, T0, T0 + timedelta(minutes=5))
    make_incident(a, T0 + timedelta(days=2))
    make_incident(b, T0 + timedelta(days=1), T0 + timedelta(days=1, minutes=1), "ServerSlow",
                  "warning")
    headers = login(client, make_user("customer_engagement"))

    def ids(query):
        response = client.get(f"/api/incidents?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [(item["server"], item["state"]) for item in response.get_json()["items"]]

    assert ids("") == [("a", "open"), ("b", "resolved"), ("a", "resolved")]
    assert ids(f"server_id={a.id}&state=resolved") == [("a", "resolved")]
    window = "from=2026-11-01T08:04:00%2B00:00&to=2026-11-02T00:00:00%2B00:00"
    assert ids(window) == [("a", "resolved")]
    assert ids("severity=warning") == [("b", "resolved")]
    bad = client.get("/api/incidents?state=maybe", headers=headers)
    assert bad.status_code == 400 and "state" in bad.get_json()["details"]


def test_an_incident_is_acknowledged_once_with_who_when_and_a_note(client):
    incident = make_incident(make_server(), T0)
    user = make_user("it_staff")
    headers = login(client, user)
    response = client.post(f"/api/incidents/{incident.id}/ack", json={"note": "on it"},
                           headers=headers)
    body = response.get_json()
    assert response.status_code == 200
    assert body["acknowledged_by"] == user.username and body["ack_note"] == "on it"
    assert body["acknowledged_at"] is not None
    again = client.post(f"/api/incidents/{incident.id}/ack", json={}, headers=headers)
    assert again.status_code == 409


@pytest.fixture
def am_url(tmp_path):
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    with alertmanager(config, tmp_path) as url:
        yield url


@pytest.fixture
def am_client(migrated, am_url):
    with fresh_app(make_config(migrated, ALERTMANAGER_URL=am_url)) as app:
        yield app.test_client()


def test_a_maintenance_window_silences_the_server_in_alertmanager(am_client, am_url):
    server = make_server()
    headers = login(am_client, make_user("it_staff"))
    now = utcnow()
    response = am_client.post("/api/maintenance", headers=headers, json={
        "server_id": server.id, "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "reason": "kernel patching"})
    assert response.status_code == 201, response.get_json()
    window = response.get_json()
    assert window["active"] is True and window["silence_status"] == "synced"
    silences = requests.get(f"{am_url}/api/v2/silences", timeout=5).json()
    [silence] = [s for s in silences if s["id"] == window["silence_id"]]
    assert silence["status"]["state"] == "active"
    assert silence["matchers"][0]["name"] == "server_id"
    assert silence["matchers"][0]["value"] == str(server.id)
    shown = am_client.get(f"/api/servers/{server.id}", headers=headers).get_json()
    assert shown["status"] == "maintenance"

    assert am_client.delete(f"/api/maintenance/{window['id']}", headers=headers).status_code == 200
    silences = requests.get(f"{am_url}/api/v2/silences", timeout=5).json()
    [silence] = [s for s in silences if s["id"] == window["silence_id"]]
    assert silence["status"]["state"] == "expired"
    assert am_client.get(f"/api/servers/{server.id}", headers=headers).get_json()["status"] \
        == "unknown"


def test_a_label_window_covers_every_server_with_the_label(am_client):
    tagged = make_server("tagged", environment="staging")
    other = make_server("other", environment="production")
    headers = login(am_client, make_user("admin"))
    now = utcnow()
    response = am_client.post("/api/maintenance", headers=headers, json={
        "label": "environment=staging", "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "reason": "staging rebuild"})
    assert response.status_code == 201
    listed = am_client.get("/api/servers?status=maintenance", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [tagged.id]
    assert am_client.get(f"/api/servers/{other.id}", headers=headers).get_json()["status"] \
        == "unknown"


def test_a_window_is_kept_when_alertmanager_is_down_and_says_so(client):
    server = make_server()
    headers = login(client, make_user("admin"))
    now = utcnow()
    response = client.post("/api/maintenance", headers=headers, json={
        "server_id": server.id, "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "reason": "swap disks"})
    assert response.status_code == 201
    assert response.get_json()["silence_status"] == "error"


@pytest.mark.parametrize(("change", "field"), [
    ({"server_id": None}, "server_id"),
    ({"label": "environment=prod"}, "server_id"),
    ({"ends_at": "2026-11-01T07:00:00+00:00"}, "ends_at"),
    ({"starts_at": "2026-11-01T07:00:00"}, "starts_at"),
    ({"reason": ""}, "reason"),
])
def test_window_validation_names_the_field(client, change, field):
    server = make_server()
    headers = login(client, make_user("admin"))
    body = {"server_id": server.id, "starts_at": "2026-11-01T08:00:00+00:00",
            "ends_at": "2026-11-01T09:00:00+00:00", "reason": "x", **change}
    response = client.post("/api/maintenance", headers=headers, json=body)
    assert response.status_code == 400
    assert field in response.get_json()["details"], response.get_json()


def test_viewers_cannot_create_windows(client):
    headers = login(client, make_user("flexipay_support"))
    assert client.post("/api/maintenance", headers=headers, json={}).status_code == 403
    assert client.get("/api/maintenance", headers=headers).status_code == 200
