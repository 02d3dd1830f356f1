"""A generic webhook channel: each message as JSON, POSTed to the endpoint's URL and
signed with HMAC-SHA256 (portal/notify/endpoints.py), so the receiver can tell it came
from this portal and is not a replay. Retried like e-mail and SMS; a 429's Retry-After is
honoured.

Headers: ``X-Servermon-Timestamp`` (Unix seconds), ``X-Servermon-Signature``
(``sha256=<hex>`` of ``<timestamp>.<body>``), ``X-Servermon-Message-Id`` (the same on a
retry: a receiver may drop what it has seen).
"""

from __future__ import annotations

import json
import time

import requests
from sqlalchemy import select

from portal.config import Config
from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.endpoints import live_endpoint, sign
from portal.notify.messages import Outgoing
from portal.notify.retry import RetryLater, retry_after_s

TIMEOUT_S = 10


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def payload(message: Outgoing) -> dict:
    incidents = db.session.scalars(select(Incident).where(
        Incident.id.in_(message.incident_ids)).order_by(Incident.started_at, Incident.id))
    return {
        "version": 1, "message_id": message.id, "state": message.state,
        "subject": message.subject, "text": message.body,
        "incidents": [{"id": i.id, "alertname": i.alertname, "severity": i.severity,
                       "server_id": i.server_id, "server": i.server_name, "reason": i.reason,
                       "summary": i.summary, "started_at": _iso(i.started_at),
                       "ended_at": _iso(i.ended_at), "labels": i.labels} for i in incidents],
    }


def post(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST, raising for anything but a 2xx so the outbox retries; no redirects followed."""
    response = requests.post(url, data=body, timeout=TIMEOUT_S, allow_redirects=False,
                             headers={"Content-Type": "application/json", **headers})
    if response.status_code == 429:
        raise RetryLater("the endpoint throttled (HTTP 429)",
                         retry_after_s(response.headers.get("Retry-After")))
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"the endpoint answered HTTP {response.status_code}")


class WebhookSender:
    channel = "webhook"

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, message: Outgoing) -> None:
        endpoint = live_endpoint(message.recipient)
        body = json.dumps(payload(message), separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        post(endpoint.url, body, {"X-Servermon-Timestamp": timestamp,
                                  "X-Servermon-Signature": sign(endpoint.id, timestamp, body),
                                  "X-Servermon-Message-Id": f"servermon-{message.id}"})
