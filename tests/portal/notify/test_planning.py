"""The webhook plans the outbox and the bell with the incident, in the same transaction."""

from datetime import timedelta

from portal.extensions import db
from portal.incidents.models import MaintenanceWindow
from portal.notify import plan_notifications
from portal.notify.models import Notification, UserNotification
from portal.settings.service import update_settings
from tests.factories import make_server, make_user
from tests.portal.notify.helpers import T0, fire, incident, on_call, rows


def test_an_outage_plans_mail_sms_and_bell_rows_with_the_incident(notify_client):
    server = make_server("core-banking")
    user = on_call()
    viewer = make_user("customer_engagement")
    fire(notify_client, server)
    outbox = rows()
    assert {(n.channel, n.recipient, n.user_id, n.state, n.status, n.attempts)
            for n in outbox} == {("email", user.email, user.id, "firing", "pending", 0),
                                 ("sms", "+256700000001", user.id, "firing", "pending", 0)}
    assert {n.incident_id for n in outbox} == {outbox[0].incident_id}
    bell = rows(UserNotification)
    assert {(n.user_id, n.state) for n in bell} == {(user.id, "firing"), (viewer.id, "firing")}
    assert bell[0].title == "DOWN: core-banking - core-banking is down"


def test_a_redelivered_webhook_plans_nothing_new(notify_client):
    server = make_server()
    on_call()
    fire(notify_client, server)
    fire(notify_client, server)
    assert len(rows()) == 2 and len(rows(UserNotification)) == 1


def test_planning_is_idempotent_and_leaves_the_commit_to_the_caller(notify_app):
    on_call()
    outage = incident()
    db.session.add(outage)
    planned = plan_notifications(outage, "firing")
    assert sorted(type(row).__name__ for row in planned) == [
        "Notification", "Notification", "UserNotification"]
    assert plan_notifications(outage, "firing") == []
    db.session.rollback()  # the caller's transaction failed: the incident and its rows go
    assert rows() == [] and rows(UserNotification) == []


def test_a_resolution_plans_its_own_messages(notify_client):
    server = make_server()
    on_call()
    fire(notify_client, server)
    fire(notify_client, server, "resolved", ends=T0 + timedelta(minutes=3))
    assert sorted((n.state, n.channel) for n in rows()) == [
        ("firing", "email"), ("firing", "sms"), ("resolved", "email"), ("resolved", "sms")]
    assert [n.state for n in rows(UserNotification)] == ["firing", "resolved"]


def test_without_notify_on_resolve_a_resolution_only_rings_the_bell(notify_client):
    update_settings({"notify_on_resolve": False}, None)
    server = make_server()
    on_call()
    fire(notify_client, server)
    fire(notify_client, server, "resolved", ends=T0 + timedelta(minutes=3))
    assert {n.state for n in rows()} == {"firing"}
    assert [n.state for n in rows(UserNotification)] == ["firing", "resolved"]


def test_a_warning_only_rings_the_bell(notify_client):
    on_call()
    fire(notify_client, make_server(), severity="warning")
    assert rows() == [] and len(rows(UserNotification)) == 1


def test_nobody_is_paged_during_maintenance_but_the_bell_still_rings(notify_client):
    server = make_server()
    on_call()
    db.session.add(MaintenanceWindow(server_id=server.id, starts_at=T0 - timedelta(hours=1),
                                     ends_at=T0 + timedelta(hours=1), reason="patching"))
    db.session.commit()
    fire(notify_client, server)
    assert rows() == [] and len(rows(UserNotification)) == 1


def test_without_smtp_and_twilio_only_the_bell_rings(client):
    on_call()
    fire(client, make_server())
    assert rows(Notification) == [] and len(rows(UserNotification)) == 1
