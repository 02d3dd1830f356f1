"""/api/notifications/outbox: delivery state per message, for the Alerts page."""

from portal.dbtypes import utcnow
from tests.factories import login, make_user
from tests.portal.notify.helpers import outbox_row, stored_incident


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
