"""A chat channel's incoming webhook (Slack, Microsoft Teams, Mattermost, Rocket.Chat...):
the message as ``{"text": ...}``, the shape they all take. The URL is the secret, so
nothing is signed; retried like the other channels."""

from __future__ import annotations

import json

from portal.config import Config
from portal.notify.endpoints import endpoint_for
from portal.notify.messages import Outgoing
from portal.notify.retry import Undeliverable
from portal.notify.webhook import post


class ChatSender:
    channel = "chat"

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, message: Outgoing) -> None:
        endpoint = endpoint_for(message.recipient)
        if endpoint is None or not endpoint.enabled:
            raise Undeliverable(f"{message.recipient} was removed or switched off")
        text = f"{message.subject.removeprefix('[servermon] ')}\n{message.body}".strip()
        post(endpoint.url, json.dumps({"text": text}).encode(), {})
