"""Shared by the notification tests: people on call, an outage from Alertmanager, rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from portal.extensions import db
from portal.incidents.models import Incident
from portal.jobs.actors import setup_jobs
from portal.notify.models import Notification
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_user
from tests.portal.incidents.test_webhook import TOKEN, alert, payload
from tests.support.binaries import free_port

T0 = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)  # 08:00 in Kampala (EAT, the default zone)


def on_call(role: str = "it_staff", **fields):
    """A user of a paged role, opted in to e-mail and SMS unless told otherwise."""
    fields.setdefault("phone", "+256700000001")
    fields.setdefault("notify_sms", True)
    return make_user(role, **fields)


def fire(client, server, status: str = "firing", **kwargs):
    """Deliver Alertmanager's webhook for ``server`` (ServerDown, critical, from T0)."""
    response = client.post("/api/alertmanager/webhook", headers=TOKEN,
                           json=payload(alert(server, status, starts=T0, **kwargs)))
    assert response.status_code == 200, response.get_json()
    return response


def rows(model=Notification) -> list:
    """Fresh from the database: the worker writes from other threads and processes."""
    db.session.expire_all()
    return db.session.scalars(db.select(model).order_by(model.id)).all()


def incident(**fields) -> Incident:
    """An incident as the webhook would make it, not stored."""
    values = {"fingerprint": "f" * 16, "alert_started_at": T0, "alertname": "ServerDown",
              "severity": "critical", "started_at": T0, "labels": {}, "server_name": "core-banking"}
    return Incident(**{**values, **fields})


def stored_incident(**fields) -> Incident:
    row = incident(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def outbox_row(incident_row: Incident, **fields) -> Notification:
    values = {"incident_id": incident_row.id, "state": "firing", "channel": "email",
              "recipient": "duty@bank.example", "subject": "s", "body": "b"}
    row = Notification(**{**values, **fields})
    db.session.add(row)
    db.session.commit()
    return row


@contextmanager
def redis_unreachable() -> Iterator[None]:
    """Enqueue through a broker whose Redis is gone (a closed port); then the real one again."""
    setup_jobs(f"redis://127.0.0.1:{free_port()}/15")
    try:
        yield
    finally:
        setup_jobs(TEST_REDIS_URL)
