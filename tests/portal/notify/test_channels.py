"""A channel switched on but not configured sends nothing: the Settings, Admin and Profile
pages say so, and the Admin page shows each channel's last success and last failure."""

from __future__ import annotations

from datetime import timedelta

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.settings.service import update_settings
from tests.factories import make_server
from tests.portal.notify.helpers import outbox_row, stored_incident
from tests.support.pages import sign_in

SMS_OFF = "SMS is on, but TWILIO_ACCOUNT_SID is not set: no SMS will be sent."
MAIL_OFF = "E-mail is on, but SMTP_HOST is not set: no e-mail will be sent."


def test_settings_and_admin_warn_of_channels_on_but_not_configured(client):
    """The test app has neither SMTP nor Twilio configured."""
    sign_in(client, "admin")
    for path in ("/settings", "/admin"):
        html = client.get(path).get_data(as_text=True)
        assert SMS_OFF in html and MAIL_OFF in html, path
    update_settings({"notify_sms": False}, None)
    html = client.get("/settings").get_data(as_text=True)
    assert SMS_OFF not in html and MAIL_OFF in html


def test_the_profile_warns_of_the_persons_own_choices_that_cannot_work(client):
    user = sign_in(client, "it_staff")
    user.notify_sms, user.phone = True, None
    db.session.commit()
    html = client.get("/profile").get_data(as_text=True)
    assert SMS_OFF in html and MAIL_OFF in html
    assert "SMS is chosen, but your profile has no phone number" in html


def test_the_configured_app_warns_of_nothing(notify_client):
    sign_in(notify_client, "admin")
    html = notify_client.get("/settings").get_data(as_text=True)
    assert 'data-testid="channel-warning"' not in html


def test_the_admin_page_shows_each_channels_last_success_and_failure(notify_client):
    incident = stored_incident(server_id=make_server().id)
    outbox_row(incident, status="sent", sent_at=utcnow() - timedelta(minutes=5))
    outbox_row(incident, channel="sms", recipient="+256700000001", status="pending",
               last_failed_at=utcnow(), last_error="TwilioRestException: HTTP 500")
    sign_in(notify_client, "admin")
    html = notify_client.get("/admin").get_data(as_text=True)
    mail = html.split('data-channel="email"', 1)[1].split("</li>", 1)[0]
    sms = html.split('data-channel="sms"', 1)[1].split("</li>", 1)[0]
    assert "Sending" in mail and "last failure never" in mail
    assert "Last send failed" in sms and "TwilioRestException: HTTP 500" in sms
    assert "last success never" in sms
