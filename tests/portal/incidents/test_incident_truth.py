"""Incidents stay true when Alertmanager re-fires, forgets, or reports out of order: one
open incident per server and alert, timed by the probes, and a status the probes own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify.models import Notification
from tests.factories import login, make_incident, make_server, make_user
from tests.portal.incidents.conftest import paging_app
from tests.portal.incidents.test_webhook import T0, alert, incidents, payload, post, probe_change
from tests.support.pages import sign_in

S = timedelta(seconds=1)


def pages() -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return sorted((row.state, row.channel, row.recipient)
                  for row in db.session.scalars(db.select(Notification)))


@pytest.fixture
def app(migrated):
    yield from paging_app(migrated)


def test_a_server_that_answers_again_is_up_while_its_incident_closes(client, app):
    server = make_server("ledger-db")
    probe_change(app, server, "down", T0 + 3 * S)
    post(client, payload(alert(server, starts=T0 + 5 * S)))
    headers = login(client, make_user("flexipay_support"))
    assert client.get(f"/api/servers/{server.id}", headers=headers).get_json()["status"] == "down"
    probe_change(app, server, "up", T0 + 62 * S)
    [incident] = incidents()
    assert incident.is_open  # Alertmanager has not resolved it yet
    assert client.get(f"/api/servers/{server.id}", headers=headers).get_json()["status"] == "up"
    listed = client.get("/api/servers?status=up", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [server.id]
    assert client.get("/api/servers?status=down", headers=headers).get_json()["items"] == []
    sign_in(client, "it_staff")
    html = client.get("/alerts").get_data(as_text=True)
    row = html.split(f'data-incident-id="{incident.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Recovered at" in row and "closing" in row and "Ongoing" not in row
    assert 'datetime="2026-11-28T08:01:02+00:00"' in row


def test_alertmanager_refiring_an_outage_with_a_new_start_continues_it(client, app, on_call):
    """As after Alertmanager restarts with its data wiped: the same outage, a new startsAt."""
    server = make_server()
    probe_change(app, server, "down", T0 + 3 * S)
    post(client, payload(alert(server, starts=T0 + 5 * S)))
    post(client, payload(alert(server, starts=T0 + 300 * S)))
    post(client, payload(alert(server, starts=T0 + 300 * S)))
    [incident] = incidents()
    assert incident.is_open and incident.started_at == T0 + 3 * S
    probe_change(app, server, "up", T0 + 400 * S)
    post(client, payload(alert(server, "resolved", starts=T0 + 300 * S, ends=T0 + 420 * S)))
    [incident] = incidents()
    assert incident.ended_at == T0 + 400 * S
    email = on_call.email
    assert pages() == [("firing", "email", email), ("firing", "sms", "+256700000001"),
                       ("resolved", "email", email), ("resolved", "sms", "+256700000001")]


def test_a_resolution_whose_start_was_never_seen_closes_the_open_incident(client, app):
    server = make_server()
    probe_change(app, server, "down", T0 + 3 * S)
    post(client, payload(alert(server, starts=T0 + 5 * S)))
    probe_change(app, server, "up", T0 + 90 * S)
    post(client, payload(alert(server, "resolved", starts=T0 + 50 * S, ends=T0 + 95 * S,
                               fingerprint="another-fingerprint")))
    [incident] = incidents()
    assert (incident.started_at, incident.ended_at) == (T0 + 3 * S, T0 + 90 * S)


def test_a_server_that_came_back_in_between_closes_one_incident_and_opens_the_next(
        client, app, on_call):
    """Alertmanager never said the first outage ended; the probes did."""
    server = make_server()
    probe_change(app, server, "down", T0 + 3 * S)
    post(client, payload(alert(server, starts=T0 + 5 * S)))
    probe_change(app, server, "up", T0 + 40 * S)
    probe_change(app, server, "down", T0 + 70 * S)
    post(client, payload(alert(server, starts=T0 + 72 * S)))
    first, second = incidents()
    assert (first.started_at, first.ended_at) == (T0 + 3 * S, T0 + 40 * S)
    assert second.is_open and second.started_at == T0 + 70 * S
    assert [state for state, channel, _ in pages() if channel == "sms"] == \
        ["firing", "firing", "resolved"]


def test_an_outage_already_recorded_is_not_recorded_again(client, app):
    """Prometheus restarted: the alert comes back with a new start for the same outage."""
    server = make_server()
    probe_change(app, server, "down", T0 + 3 * S)
    post(client, payload(alert(server, starts=T0 + 5 * S)))
    probe_change(app, server, "up", T0 + 40 * S)
    post(client, payload(alert(server, "resolved", starts=T0 + 5 * S, ends=T0 + 45 * S)))
    post(client, payload(alert(server, "resolved", starts=T0 + 6 * S, ends=T0 + 46 * S)))
    [incident] = incidents()
    assert (incident.started_at, incident.ended_at) == (T0 + 3 * S, T0 + 40 * S)


def test_no_phantom_incident_from_a_resolution_with_no_length_and_no_probe_data(client):
    server = make_server()
    post(client, payload(alert(server, "resolved", starts=T0 + 5 * S, ends=T0 + 5 * S)))
    assert incidents() == []


def test_the_database_refuses_a_second_open_incident_of_one_server_and_alert(app):
    server = make_server()
    make_incident(server, T0)
    make_incident(server, T0 - timedelta(days=1), T0 - timedelta(hours=23))  # closed: fine
    make_incident(server, T0, name="ServerSlow", severity="warning")  # another alert: fine
    with pytest.raises(IntegrityError):
        make_incident(server, T0 + 60 * S)
    db.session.rollback()


def test_an_outage_recorded_before_its_probe_events_is_retimed_when_they_arrive(client, app):
    """Redis was away: Alertmanager's messages came before the exporter's changes did."""
    from portal.pipeline.service import watch_pipeline

    server = make_server()
    now = utcnow().replace(microsecond=0)
    post(client, payload(alert(server, starts=now - 50 * S)))
    post(client, payload(alert(server, "resolved", starts=now - 50 * S, ends=now - 5 * S)))
    [incident] = incidents()
    assert (incident.started_at, incident.ended_at) == (now - 50 * S, now - 5 * S)
    probe_change(app, server, "down", now - 58 * S)  # the exporter's queue, sent late
    probe_change(app, server, "up", now - 12 * S)
    watch_pipeline()
    db.session.refresh(incident)
    assert (incident.started_at, incident.ended_at) == (now - 58 * S, now - 12 * S)
    assert incident.reason == "connection refused"


def test_a_resolution_while_the_probes_say_down_keeps_the_outage_open(client, app, on_call):
    """A failed scrape marks every series stale, so Alertmanager resolves every ServerDown
    and fires them again, with new starts, at the next good scrape. The probes still say
    down: it is the same outage, closed only at their up-event."""
    server = make_server("cbs-app-07")
    probe_change(app, server, "down", T0 + 3 * S)
    post(client, payload(alert(server, starts=T0 + 5 * S)))
    post(client, payload(alert(server, "resolved", starts=T0 + 5 * S, ends=T0 + 65 * S)))
    [incident] = incidents()
    assert incident.is_open
    assert [state for state, _, _ in pages()] == ["firing", "firing"]  # no RESOLVED page
    post(client, payload(alert(server, starts=T0 + 70 * S)))
    [incident] = incidents()
    assert incident.is_open and incident.started_at == T0 + 3 * S
    probe_change(app, server, "up", T0 + 120 * S)
    post(client, payload(alert(server, "resolved", starts=T0 + 70 * S, ends=T0 + 121 * S)))
    [incident] = incidents()
    assert (incident.started_at, incident.ended_at) == (T0 + 3 * S, T0 + 120 * S)
    assert sorted(state for state, _, _ in pages()) == ["firing", "firing", "resolved", "resolved"]
