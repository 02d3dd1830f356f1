"""The Alertmanager webhook: validation, idempotency, and downtime timed from probe data."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.incidents.models import Incident, MaintenanceWindow
from portal.notify.models import Notification
from portal.redis_client import get_redis
from portal.servers.ingest import StreamConsumer
from tests.factories import make_server
from wire import EVENTS_STREAM

TOKEN = {"Authorization": "Bearer am-token-for-tests-0123456789"}
T0 = datetime(2026, 11, 28, 8, 0, 0, tzinfo=UTC)


def alert(server, status="firing", starts=T0 + timedelta(seconds=40), ends=None,
          name="ServerDown", severity="critical", fingerprint=None):
    return {
        "status": status,
        "labels": {"alertname": name, "severity": severity, "server_id": str(server.id),
                   "server": server.name, "kind": server.kind},
        "annotations": {"summary": f"{server.name} is down", "description": "probe failing"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": (ends or datetime(1, 1, 1, tzinfo=UTC)).isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint or f"fp{server.id:014d}",
    }


def payload(*alerts, status=None):
    return {"version": "4", "groupKey": "{}:{alertname=\"ServerDown\"}", "truncatedAlerts": 0,
            "status": status or alerts[0]["status"], "receiver": "portal",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "alerts": list(alerts)}


def post(client, body, headers=TOKEN):
    return client.post("/api/alertmanager/webhook", json=body, headers=headers)


def probe_change(app, server, status, at, reason="connection refused"):
    get_redis().xadd(EVENTS_STREAM, {"event_id": uuid.uuid4().hex, "server_id": str(server.id),
                              "status": status, "previous": "up", "reason": reason,
                              "latency_ms": "", "at": at.isoformat(),
                              "last_ok_at": (at - timedelta(seconds=30)).isoformat()})
    StreamConsumer(app, "t", block_ms=5).run_once()


def incidents():
    return db.session.scalars(db.select(Incident).order_by(Incident.id)).all()


def test_it_needs_the_webhook_token(client):
    server = make_server()
    assert post(client, payload(alert(server)), headers={}).status_code == 401
    wrong = {"Authorization": "Bearer am-token-for-tests-WRONG"}
    assert post(client, payload(alert(server)), headers=wrong).status_code == 401
    assert incidents() == []


@pytest.mark.parametrize("body", [
    {"version": "3", "status": "firing", "receiver": "x", "alerts": []},
    {"version": "4", "status": "firing", "receiver": "x",
     "alerts": [{"status": "firing", "labels": {}, "startsAt": "yesterday", "fingerprint": "a"}]},
    ["not", "an", "object"],
])
def test_a_malformed_payload_is_a_400_naming_the_field(client, body):
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["details"]


@pytest.mark.parametrize(("change", "field"), [
    ({"startsAt": "2026-11-28T08:00:40"}, "startsAt"),  # no offset: which zone's 08:00?
    ({"status": "resolved", "endsAt": "2026-11-28T08:05:00"}, "endsAt"),
    ({"status": "resolved", "endsAt": "9999-12-31T23:59:59Z"}, "endsAt"),
    ({"startsAt": "9999-12-31T23:59:59Z"}, "startsAt"),
])
def test_alert_times_without_an_offset_or_years_ahead_are_a_400_not_retried(client, change,
                                                                             field):
    """Before: a 500, or a 503 that Alertmanager retried for ever."""
    body = {**alert(make_server()), **change}
    response = post(client, payload(body))
    assert response.status_code == 400, response.get_json()
    assert field in json.dumps(response.get_json()["details"])
    assert incidents() == []


def test_a_firing_alerts_end_is_not_its_end(client):
    """Prometheus sends a firing alert with the time it would lapse: no end yet."""
    server = make_server()
    body = alert(server, ends=datetime(9999, 12, 31, tzinfo=UTC))
    assert post(client, payload(body)).status_code == 200
    [incident] = incidents()
    assert incident.ended_at is None


@pytest.mark.parametrize("server_id", ["1" * 30, "²", "١٢", "-1", "", " 7", "9223372036854775808"])
def test_a_server_id_that_cannot_be_an_id_records_an_incident_without_a_server(client, server_id):
    """Before: "²" (a digit to str.isdigit) was a 500, 30 digits a 503 retried for ever."""
    body = alert(make_server())
    body["labels"]["server_id"] = server_id
    response = post(client, payload(body))
    assert response.status_code == 200, response.get_json()
    [incident] = incidents()
    assert incident.server_id is None


def test_a_firing_alert_opens_one_incident_even_when_redelivered(client):
    server = make_server()
    for _ in range(3):
        assert post(client, payload(alert(server))).status_code == 200
    [incident] = incidents()
    assert incident.is_open and incident.server_id == server.id
    assert incident.alertname == "ServerDown" and incident.severity == "critical"


def test_the_outage_is_timed_from_the_probes_not_the_rule(client, app):
    server = make_server()
    probe_change(app, server, "down", T0 + timedelta(seconds=3))
    post(client, payload(alert(server, starts=T0 + timedelta(seconds=40))))
    probe_change(app, server, "up", T0 + timedelta(minutes=5, seconds=2))
    resolved = alert(server, "resolved", starts=T0 + timedelta(seconds=40),
                     ends=T0 + timedelta(minutes=5, seconds=45))
    post(client, payload(resolved))
    [incident] = incidents()
    assert incident.started_at == T0 + timedelta(seconds=3)
    assert incident.ended_at == T0 + timedelta(minutes=5, seconds=2)
    assert incident.reason == "connection refused"


def test_without_probe_data_the_alert_times_are_used(client):
    server = make_server()
    post(client, payload(alert(server)))
    post(client, payload(alert(server, "resolved", ends=T0 + timedelta(minutes=2))))
    [incident] = incidents()
    assert incident.started_at == T0 + timedelta(seconds=40)
    assert incident.ended_at == T0 + timedelta(minutes=2)


def test_a_resolution_arriving_first_or_twice_records_one_closed_incident(client):
    server = make_server()
    resolved = alert(server, "resolved", ends=T0 + timedelta(minutes=2))
    assert post(client, payload(resolved)).status_code == 200
    assert post(client, payload(resolved)).status_code == 200
    assert post(client, payload(alert(server))).status_code == 200  # the late "firing"
    [incident] = incidents()
    assert not incident.is_open and incident.ended_at == T0 + timedelta(minutes=2)


def test_a_new_outage_of_the_same_alert_is_a_new_incident(client):
    server = make_server()
    post(client, payload(alert(server, starts=T0)))
    post(client, payload(alert(server, "resolved", starts=T0, ends=T0 + timedelta(minutes=1))))
    post(client, payload(alert(server, starts=T0 + timedelta(hours=1))))
    assert [i.is_open for i in incidents()] == [False, True]


def test_an_outage_in_a_maintenance_window_is_marked(client):
    server = make_server()
    db.session.add(MaintenanceWindow(server_id=server.id, starts_at=T0 - timedelta(hours=1),
                                     ends_at=T0 + timedelta(hours=1), reason="patching",
                                     silence_id="x"))
    db.session.commit()
    post(client, payload(alert(server)))
    assert incidents()[0].in_maintenance is True


def test_alerts_without_a_server_are_recorded_too(client):
    body = payload({"status": "firing", "labels": {"alertname": "ExporterDown",
                                                   "severity": "critical"},
                    "annotations": {"summary": "exporter down"},
                    "startsAt": T0.isoformat(), "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": "abcdef0123456789"})
    assert post(client, body).status_code == 200
    [incident] = incidents()
    assert incident.server_id is None and incident.alertname == "ExporterDown"


def test_a_database_failure_answers_503_so_alertmanager_retries(client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from portal.incidents import service

    server = make_server()

    def broken(_payload):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(service, "_apply", broken)
    assert post(client, payload(alert(server))).status_code == 503


@pytest.mark.parametrize("name", ["ServerPacketLoss", "ProbeResultsStale"])
def test_the_new_warnings_become_the_servers_incidents_and_close_on_resolution(client, name):
    server = make_server("branch-router", kind="icmp", target="10.1.2.3")
    assert post(client, payload(alert(server, name=name, severity="warning"))).status_code == 200
    [incident] = incidents()
    assert (incident.alertname, incident.severity, incident.server_id) == (name, "warning", server.id)
    assert incident.ended_at is None and not incident.is_downtime
    assert db.session.scalars(db.select(Notification)).all() == []  # a warning pages nobody
    resolved = alert(server, status="resolved", name=name, severity="warning",
                     ends=T0 + timedelta(minutes=10))
    assert post(client, payload(resolved)).status_code == 200
    db.session.expire_all()
    [incident] = incidents()
    assert incident.ended_at is not None
