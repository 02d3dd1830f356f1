"""SMS through the twilio library, against a local stand-in for Twilio's REST API."""

import base64

import pytest
from twilio.base.exceptions import TwilioRestException

import portal.models  # noqa: F401 - every mapper, so a bare Notification can be built
from portal.notify.models import Notification
from portal.notify.sms import SmsSender
from tests.conftest import make_config
from tests.portal.notify.conftest import TWILIO_SID, TWILIO_TOKEN


def sender(twilio):
    return SmsSender(make_config("sqlite://", TWILIO_ACCOUNT_SID=TWILIO_SID,
                                 TWILIO_AUTH_TOKEN=TWILIO_TOKEN, TWILIO_FROM="+15005550006",
                                 TWILIO_BASE_URL=twilio.url))


def text(**fields):
    return Notification(**{"id": 3, "recipient": "+256700000001", "body": "DOWN x", **fields})


def test_it_posts_the_message_to_the_account(twilio):
    sender(twilio).send(text())
    [sent] = twilio.sent
    assert sent["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert (sent["To"], sent["From"], sent["Body"]) == ("+256700000001", "+15005550006", "DOWN x")
    credentials = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert sent["auth"] == f"Basic {credentials}"


def test_a_twilio_error_raises_for_the_outbox_to_retry(twilio):
    twilio.fail_next = 1
    with pytest.raises(TwilioRestException):
        sender(twilio).send(text())


def test_a_worker_without_twilio_says_so():
    with pytest.raises(RuntimeError, match="TWILIO_ACCOUNT_SID"):
        SmsSender(make_config("sqlite://")).send(text())
