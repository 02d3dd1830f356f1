"""The Watchdog proves the pipeline alive; its silence pages admins through the outbox."""

from __future__ import annotations

from datetime import timedelta

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.pipeline.heartbeats import beat, last_seen
from portal.pipeline.service import watch_pipeline
from tests.factories import make_user
from tests.portal.incidents.test_webhook import TOKEN, payload
from tests.portal.pipeline.test_reconcile import pages


def watchdog_post(client):
    body = payload({"status": "firing", "fingerprint": "0123456789abcdef",
                    "labels": {"alertname": "Watchdog", "severity": "none",
                               "server_id": "servermon", "server": "servermon-pipeline"},
                    "annotations": {"summary": "The alerting pipeline works"},
                    "startsAt": "2026-12-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"})
    response = client.post("/api/alertmanager/webhook", json=body, headers=TOKEN)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def incidents():
    return db.session.scalars(db.select(Incident).order_by(Incident.id)).all()


def test_the_watchdog_is_a_heartbeat_not_an_incident(client):
    assert watchdog_post(client) == {"received": 1, "opened": 0, "resolved": 0}
    assert incidents() == []
    assert utcnow() - last_seen("watchdog").seen_at < timedelta(seconds=5)


def test_a_silent_watchdog_pages_admins_once_and_clears_when_it_returns(client):
    admin = make_user("admin", phone="+256700000009", notify_sms=True)
    make_user("it_staff", phone="+256700000001", notify_sms=True)  # not paged for this
    beat("watchdog", "Watchdog received from Alertmanager", at=utcnow() - timedelta(minutes=4))
    db.session.commit()
    watch_pipeline()
    watch_pipeline()
    [silent] = incidents()
    assert silent.alertname == "AlertmanagerSilent" and silent.is_open
    assert silent.summary.startswith("No alerts from Alertmanager since 2026-")
    assert pages() == [("firing", "email", admin.email), ("firing", "sms", admin.phone)]
    watchdog_post(client)
    watch_pipeline()
    db.session.refresh(silent)
    assert not silent.is_open
    assert [state for state, _, _ in pages()] == ["firing", "firing", "resolved", "resolved"]


def test_two_workers_cannot_both_raise_the_same_incident(client):
    """Each worker process runs the checks; the database keeps one open incident."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from portal.pipeline.system import Raised, raise_incident

    raise_incident("AlertmanagerSilent", "silent", "first worker", Raised())
    db.session.commit()
    twin = Incident(fingerprint="servermon-AlertmanagerSilent", alert_started_at=utcnow(),
                    alertname="AlertmanagerSilent", severity="critical", server_id=None,
                    labels={}, started_at=utcnow())
    db.session.add(twin)  # as the second worker, which had not seen the first's row yet
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert len(incidents()) == 1


def test_a_new_install_counts_the_silence_from_its_first_look(client):
    watch_pipeline()
    assert last_seen("watchdog").detail == "no Watchdog received yet"
    assert incidents() == []
