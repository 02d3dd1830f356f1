"""/api/notifications/outbox: delivery state per message, for the Alerts page."""

import json

from portal.dbtypes import utcnow
from tests.factories import login, make_user
from tests.portal.notify.helpers import outbox_row, stored_incident
from tests.support.pages import sign_in


def listed(client, query=""):
    headers = login(client, make_user("flexipay_support"))
    return client.get(f"/api/notifications/outbox{query}", headers=headers)


def test_it_filters_by_status_and_incident(notify_client):
    first, second = stored_incident(), stored_incident(fingerprint="other")
    outbox_row(first, status="failed", attempts=5, last_error="TwilioRestException: HTTP 500")
    outbox_row(first, recipient="b@bank.example", status="sent", sent_at=utcnow())
    outbox_row(second, status="failed", attempts=5, last_error="SMTPRecipientsRefused")
    failed = listed(notify_client, "?status=failed").get_json()["items"]
    assert {item["incident_id"] for item in failed} == {first.id, second.id}
    of_first = listed(notify_client, f"?status=failed&incident_id={first.id}").get_json()
    [item] = of_first["items"]
    assert (item["status"], item["attempts"], item["last_error"]) == (
        "failed", 5, "TwilioRestException: HTTP 500")
    assert {"channel", "recipient", "state", "created_at", "sent_at"} <= set(item)


def test_a_bad_filter_names_the_field(notify_client):
    response = listed(notify_client, "?status=lost")
    assert response.status_code == 400 and "status" in response.get_json()["details"]


def test_it_needs_a_signed_in_user(notify_client):
    assert notify_client.get("/api/notifications/outbox").status_code == 401


def test_viewer_roles_see_addresses_masked_as_they_cannot_see_contacts(notify_client):
    """Before: every staff e-mail address and phone number, in full, to a viewer role."""
    incident = stored_incident()
    outbox_row(incident, recipient="it-staff-1@bank.example", status="failed", attempts=5,
               last_error="SMTPRecipientsRefused: {'it-staff-1@bank.example': (550, 'no')}")
    outbox_row(incident, channel="sms", recipient="+256700000123", status="sent",
               sent_at=utcnow())
    items = listed(notify_client).get_json()["items"]
    shown = {item["channel"]: item for item in items}
    assert shown["email"]["recipient"] == "i***@bank.example"
    assert "it-staff-1@" not in shown["email"]["last_error"]
    assert shown["sms"]["recipient"] == "+256***23"
    assert "it-staff-1@bank.example" not in json.dumps(items) and "700000123" not in json.dumps(items)
    staff = login(notify_client, make_user("it_staff"))  # Server Logs: contacts, so addresses
    full = notify_client.get("/api/notifications/outbox", headers=staff).get_json()["items"]
    assert {item["recipient"] for item in full} == {"it-staff-1@bank.example", "+256700000123"}


def test_the_alerts_page_masks_failed_recipients_for_viewer_roles(notify_client):
    incident = stored_incident()
    outbox_row(incident, recipient="it-staff-1@bank.example", status="failed", attempts=5,
               last_error="refused it-staff-1@bank.example")
    sign_in(notify_client, "customer_engagement")
    html = notify_client.get("/alerts").get_data(as_text=True)
    assert "i***@bank.example" in html and "it-staff-1@bank.example" not in html
