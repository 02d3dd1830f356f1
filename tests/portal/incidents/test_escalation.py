"""Escalation and acknowledgement: an unacknowledged critical incident pages tier 2, then
tier 3; acknowledging (the Alerts page, in bulk, or the signed single-use link in a page,
without signing in) stops it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.escalation import escalate
from portal.notify import ack_links
from portal.notify.models import Notification, NotificationEndpoint, ServerContact
from portal.settings.service import update_settings
from tests.factories import make_server, make_user
from tests.portal.audit.trail import audit_rows
from tests.portal.incidents.conftest import paging_app
from tests.portal.incidents.test_webhook import T0, alert, incidents, payload, post
from tests.support.pages import post_form, sign_in

MIN = timedelta(minutes=1)


@pytest.fixture
def app(migrated):
    yield from paging_app(migrated)


@pytest.fixture
def tiers(app):
    update_settings({"escalate_after_min": 15, "escalate_tier2_roles": ["ebanking_support"],
                     "escalate_tier3_roles": ["customer_engagement"]}, None)
    return {2: make_user("ebanking_support", phone="+256700000002", notify_sms=True),
            3: make_user("customer_engagement", phone="+256700000003", notify_sms=True)}


def outbox(state=None) -> list[Notification]:
    db.session.expire_all()
    query = db.select(Notification).order_by(Notification.id)
    if state:
        query = query.where(Notification.state == state)
    return db.session.scalars(query).all()


def escalated(now) -> list:
    planned = escalate(now=now)
    db.session.commit()
    return planned


def test_an_unacknowledged_outage_pages_tier_2_then_tier_3_once_each(client, app, on_call, tiers):
    server = make_server("core-banking")
    db.session.add(ServerContact(server_id=server.id, name="DBA on call", phone="+256700000022",
                                 tier=2))
    db.session.commit()
    post(client, payload(alert(server, starts=T0)))
    assert {row.recipient for row in outbox("firing")} == {on_call.email, on_call.phone}
    assert escalated(utcnow() + 14 * MIN) == [] and outbox("tier2") == []
    escalated(utcnow() + 16 * MIN)
    assert {row.recipient for row in outbox("tier2")} == {
        tiers[2].email, tiers[2].phone, "+256700000022"}
    [mail] = [row for row in outbox("tier2") if row.channel == "email"]
    assert mail.subject.startswith("[servermon] ESCALATED: core-banking down for ")
    assert "has escalated to tier 2, you" in mail.body
    escalated(utcnow() + 16 * MIN)  # the next pass plans nothing twice
    assert len(outbox("tier2")) == 3 and outbox("tier3") == []
    escalated(utcnow() + 31 * MIN)
    assert {row.recipient for row in outbox("tier3")} == {tiers[3].email, tiers[3].phone}
    escalations = audit_rows("incident.escalated")
    assert [(row.detail["tier"], row.actor_kind) for row in escalations] == [(2, "system"),
                                                                            (3, "system")]
    assert escalations[0].target_name == "ServerDown core-banking"
    # Whoever an escalation paged hears how it ended.
    post(client, payload(alert(server, "resolved", starts=T0, ends=T0 + 40 * MIN)))
    assert {row.recipient for row in outbox("resolved")} == {
        on_call.email, on_call.phone, tiers[2].email, tiers[2].phone, "+256700000022",
        tiers[3].email, tiers[3].phone}


def test_acknowledging_stops_escalation(client, app, on_call, tiers):
    server = make_server()
    post(client, payload(alert(server, starts=T0)))
    sign_in(client, "it_staff")
    [incident] = incidents()
    assert post_form(client, f"/alerts/{incident.id}/ack", {"note": "on it"}).status_code == 302
    assert escalated(utcnow() + 60 * MIN) == [] and outbox("tier2") == []


@pytest.mark.parametrize(("own", "escalates_at"), [(0, None), (5, 6)])
def test_a_server_may_escalate_sooner_or_never(client, app, on_call, tiers, own, escalates_at):
    server = make_server(escalate_after_min=own)
    post(client, payload(alert(server, starts=T0)))
    escalated(utcnow() + 4 * MIN)
    assert outbox("tier2") == []
    escalated(utcnow() + 6 * MIN)
    assert bool(outbox("tier2")) is (escalates_at is not None)


def ack_path(row: Notification) -> str:
    return re.search(r"https?://[^/\s]+(/ack/[\w.-]+)", row.body).group(1)


def test_the_link_in_a_page_acknowledges_without_signing_in_once(client, app, on_call, tiers):
    server = make_server("swift-gw")
    post(client, payload(alert(server, starts=T0)))
    sms = next(row for row in outbox("firing") if row.channel == "sms")
    assert len(sms.body) <= 160 and "/ack/" in sms.body
    mail = next(row for row in outbox("firing") if row.channel == "email")
    assert "Acknowledge (works once, no sign-in): " in mail.body
    path = ack_path(sms)
    shown = client.get(path)
    assert shown.status_code == 200 and "swift-gw" in shown.get_data(as_text=True)
    assert incidents()[0].acknowledged_at is None  # opening the link acknowledges nothing
    done = client.post(path)
    assert done.status_code == 200 and "1 incident acknowledged" in done.get_data(as_text=True)
    [incident] = incidents()
    assert incident.acknowledged_by_name == on_call.username
    assert incident.ack_note == f"from the sms link sent to {on_call.phone}"
    [used] = audit_rows("ack_link.used")
    assert (used.actor_kind, used.actor_name) == ("anonymous", f"link sent to {on_call.username}")
    assert used.detail == {"channel": "sms", "acknowledged": [incident.id]}
    [acked] = audit_rows("incident.acknowledged")
    assert acked.target_id == str(incident.id) and acked.actor_name == on_call.username
    assert escalated(utcnow() + 60 * MIN) == []
    again = client.post(path)
    assert again.status_code == 410 and "has been used already" in again.get_data(as_text=True)
    assert client.get(ack_path(mail)).status_code == 200  # the e-mail's own link still works


def test_a_tampered_or_expired_link_acknowledges_nothing(client, app, on_call, monkeypatch):
    post(client, payload(alert(make_server(), starts=T0)))
    path = ack_path(outbox("firing")[0])
    assert client.post(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404
    assert client.post("/ack/" + "x" * 40).status_code == 404
    monkeypatch.setattr(ack_links, "ACK_LINK_TTL_S", -1)
    expired = client.post(path)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert incidents()[0].acknowledged_at is None


def test_a_digests_link_acknowledges_every_incident_it_told_of(client, app, on_call):
    servers = [make_server(f"cbs-{n}") for n in range(3)]
    post(client, payload(*[alert(server, starts=T0) for server in servers]))
    rows = [row for row in outbox("firing") if row.channel == "email"]
    for row in rows:  # as one digest carried them
        row.status, row.sent_in = "sent", rows[0].id
    db.session.commit()
    with app.test_request_context():
        path = ack_links.ack_url(rows[0].id).split("://", 1)[1].split("/", 1)[1]
    done = client.post("/" + path)
    assert "3 incidents acknowledged" in done.get_data(as_text=True)
    assert all(incident.acknowledged_at for incident in incidents())


def test_the_alerts_page_acknowledges_the_ticked_incidents(client, app):
    servers = [make_server(f"atm-{n}") for n in range(3)]
    post(client, payload(*[alert(server, starts=T0) for server in servers]))
    first, second, third = incidents()
    sign_in(client, "it_staff")
    html = client.get("/alerts").get_data(as_text=True)
    assert 'data-testid="bulk-ack"' in html and f'value="{first.id}" form="bulk-ack"' in html
    response = post_form(client, "/alerts/ack", {"ids": [str(first.id), str(second.id)],
                                                  "note": "switch replaced"})
    assert response.status_code == 302
    first, second, third = incidents()
    assert first.ack_note == second.ack_note == "switch replaced" and third.acknowledged_at is None
    acked = audit_rows("incident.acknowledged")
    assert sorted(int(row.target_id) for row in acked) == [first.id, second.id]
    assert {(row.actor_kind, row.detail["note"]) for row in acked} == {("user", "switch replaced")}
    assert "2 incidents acknowledged." in client.get("/alerts").get_data(as_text=True)


def test_a_link_sent_to_a_chat_channel_acknowledges_in_its_name(client, app):
    """Measured before: it acknowledged as ``endpoint:1``, a name nobody knows."""
    endpoint = NotificationEndpoint(name="#noc", kind="chat", url="http://127.0.0.1:9/hook", tier=1)
    db.session.add(endpoint)
    db.session.commit()
    post(client, payload(alert(make_server("swift-gw"), starts=T0)))
    [row] = [row for row in outbox("firing") if row.channel == "chat"]
    assert client.post(ack_path(row)).status_code == 200
    [incident] = incidents()
    assert incident.acknowledged_by_name == "#noc (chat)"
    assert incident.ack_note == "from the chat link sent to #noc (chat)"
    [used] = audit_rows("ack_link.used")
    assert used.actor_name == "link sent to #noc (chat)"
