"""The reconciler against a real Alertmanager: it closes what Alertmanager forgot, at the
probe's up-event, pages the resolution once, leaves alone what still fires, and pages
admins once when outages have no incident at all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident, MaintenanceWindow
from portal.notify.models import Notification
from portal.pipeline.heartbeats import last_seen
from portal.pipeline.service import watch_pipeline
from portal.servers.models import ServerStatus
from tests.factories import make_server, make_user, record_state
from tests.portal.pipeline.conftest import fire_in_alertmanager

MIN = timedelta(minutes=1)


@pytest.fixture
def people():
    return {"on_call": make_user("it_staff", phone="+256700000001", notify_sms=True),
            "admin": make_user("admin", phone="+256700000009", notify_sms=True)}


def open_outage(server, down_at):
    """An outage as the webhook leaves it, made well before the grace period."""
    record_state(server, "down", down_at, reason="connection refused")
    incident = Incident(fingerprint=f"fp-{server.id}", alert_started_at=down_at + 20 * S,
                        alertname="ServerDown", severity="critical", server_id=server.id,
                        server_name=server.name, started_at=down_at, labels={},
                        created_at=down_at + 25 * S)
    db.session.add(incident)
    db.session.commit()
    return incident


S = timedelta(seconds=1)


def pages(state=None) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return sorted((row.state, row.channel, row.recipient)
                  for row in db.session.scalars(db.select(Notification))
                  if state in (None, row.state))


def test_an_outage_alertmanager_forgot_closes_at_the_up_event_and_resolves_once(app, people):
    server = make_server("ledger-db")
    incident = open_outage(server, utcnow() - 10 * MIN)
    came_back = utcnow() - 5 * MIN
    record_state(server, "up", came_back)
    watch_pipeline()
    watch_pipeline()  # a second pass, as a second worker would run it: nothing more
    db.session.refresh(incident)
    assert incident.ended_at == came_back
    assert pages("resolved") == sorted(("resolved", channel, address)
                                       for user in people.values()
                                       for channel, address in (("email", user.email),
                                                                ("sms", user.phone)))
    assert "0 down with no incident" in last_seen("reconciler").detail


def test_an_alert_still_active_in_alertmanager_keeps_its_incident_open(app, am_url, people):
    server = make_server()
    incident = open_outage(server, utcnow() - 10 * MIN)
    record_state(server, "up", utcnow() - 5 * MIN)
    fire_in_alertmanager(am_url, server.id)
    watch_pipeline()
    db.session.refresh(incident)
    assert incident.is_open and pages("resolved") == []


def test_a_server_still_down_or_only_just_back_keeps_its_incident(app, people):
    down, just_back = make_server(), make_server()
    still = open_outage(down, utcnow() - 10 * MIN)
    recent = open_outage(just_back, utcnow() - 10 * MIN)
    record_state(just_back, "up", utcnow() - 20 * S)  # inside the 60 s grace
    watch_pipeline()
    db.session.refresh(still)
    db.session.refresh(recent)
    assert still.is_open and recent.is_open


def test_while_alertmanager_cannot_be_asked_nothing_is_closed(am_down_app, people):
    server = make_server()
    incident = open_outage(server, utcnow() - 10 * MIN)
    record_state(server, "up", utcnow() - 5 * MIN)
    watch_pipeline()
    db.session.refresh(incident)
    assert incident.is_open
    assert last_seen("reconciler").detail.startswith("Alertmanager unreachable")
    assert last_seen("worker") is not None


def test_outages_without_any_incident_page_admins_once_and_clear_when_healed(app, people):
    """Admins only (it_staff is paged for servers, not for the monitoring)."""
    servers = [make_server(f"cbs-app-{n:02d}") for n in range(7)]
    for server in servers:
        record_state(server, "down", utcnow() - 10 * MIN)
    patched = make_server("patched")
    record_state(patched, "down", utcnow() - 10 * MIN)
    db.session.add(MaintenanceWindow(server_id=patched.id, reason="patching", silence_id="x",
                                     starts_at=utcnow() - 20 * MIN, ends_at=utcnow() + MIN))
    db.session.commit()
    for _ in range(3):
        watch_pipeline()
    [broken] = db.session.scalars(db.select(Incident)).all()
    assert broken.alertname == "AlertingPipelineBroken" and broken.is_open
    assert broken.summary == ("7 server(s) down for over 5 min with no incident: cbs-app-00, "
                              "cbs-app-01, cbs-app-02, cbs-app-03, cbs-app-04 and 2 more")
    admin = people["admin"]
    assert pages() == [("firing", "email", admin.email), ("firing", "sms", admin.phone)]
    db.session.execute(db.update(ServerStatus).values(status="up"))
    db.session.commit()
    watch_pipeline()
    db.session.refresh(broken)
    assert not broken.is_open
    assert pages("resolved") == [("resolved", "email", admin.email),
                                 ("resolved", "sms", admin.phone)]
