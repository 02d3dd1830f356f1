"""SMS through Twilio's REST API, with the official twilio library."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from portal.config import Config
from portal.notify.messages import Outgoing
from portal.notify.retry import RetryLater, retry_after_s

TIMEOUT_S = 10


class SmsSender:
    """Sends one message (an outbox row, or a digest of several); raises on any failure
    so the outbox can retry it."""

    channel = "sms"

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, notification: Outgoing) -> None:
        if not self.config.twilio_account_sid:  # planned by a web process that had it
            raise RuntimeError("TWILIO_ACCOUNT_SID is not set for the worker")
        answers: list = []  # the raw responses, for a 429's Retry-After header
        http = TwilioHttpClient(timeout=TIMEOUT_S,
                                request_hooks={"response": lambda r, *a, **k: answers.append(r)})
        client = Client(self.config.twilio_account_sid, self.config.twilio_auth_token,
                        http_client=http)
        client.api.base_url = self.config.twilio_base_url  # a stand-in in tests
        try:
            client.messages.create(to=notification.recipient, from_=self.config.twilio_from,
                                   body=notification.body)
        except TwilioRestException as exc:
            if exc.status == 429:
                header = answers[-1].headers.get("Retry-After") if answers else None
                raise RetryLater(f"Twilio throttled (HTTP 429): {exc.msg}",
                                 retry_after_s(header)) from exc
            raise
