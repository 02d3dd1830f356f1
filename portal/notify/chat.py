"""A chat channel's incoming webhook (Slack, Microsoft Teams, Mattermost, Rocket.Chat...):
the message as ``{"text": ...}``, the shape they all take. The URL is the secret, so
nothing is signed; retried like the other channels."""

from __future__ import annotations

import json

from portal.config import Config
from portal.notify.endpoints import live_endpoint
from portal.notify.messages import Outgoing
from portal.notify.webhook import post


class ChatSender:
    channel = "chat"

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, message: Outgoing) -> None:
        endpoint = live_endpoint(message.recipient)
        text = f"{message.subject.removeprefix('[servermon] ')}\n{message.body}".strip()
        post(endpoint.url, json.dumps({"text": text}).encode(), {})
