"""SMS through Twilio's REST API, with the official twilio library."""

from __future__ import annotations

from twilio.rest import Client

from portal.config import Config
from portal.notify.models import Notification

TIMEOUT_S = 10


class SmsSender:
    """Sends one outbox row; raises on any failure so the outbox can retry it."""

    channel = "sms"

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, notification: Notification) -> None:
        if not self.config.twilio_account_sid:  # planned by a web process that had it
            raise RuntimeError("TWILIO_ACCOUNT_SID is not set for the worker")
        client = Client(self.config.twilio_account_sid, self.config.twilio_auth_token)
        client.api.base_url = self.config.twilio_base_url  # a stand-in in tests
        client.http_client.timeout = TIMEOUT_S
        client.messages.create(to=notification.recipient, from_=self.config.twilio_from,
                               body=notification.body)
