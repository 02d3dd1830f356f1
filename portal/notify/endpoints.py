"""Notification endpoints: machines paged like people (a generic webhook, or a chat
channel's incoming webhook), kept by the settings managers.

A webhook's receiver checks each post with a key of its own: HMAC-SHA256 of
``SECRET_KEY`` and the endpoint's id, never stored, shown to settings managers to copy into
the receiver. Rotating ``SECRET_KEY`` rotates every endpoint's key.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Literal
from urllib.parse import urlsplit

from flask import current_app
from pydantic import AfterValidator, Field

from portal.audit.service import record, target_of
from portal.errors import APIError
from portal.extensions import db
from portal.notify.models import NotificationEndpoint
from portal.notify.retry import Undeliverable
from portal.schemas import Line, Strict

KINDS = ("webhook", "chat")  # channels: portal/notify/webhook.py, portal/notify/chat.py
ADDRESS_PREFIX = "endpoint:"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password")
    return value


class EndpointIn(Strict):
    name: Line = Field(min_length=1, max_length=100)
    kind: Literal[KINDS]  # type: ignore[valid-type]
    url: Annotated[Line, AfterValidator(_http_url)] = Field(max_length=2048)
    tier: int = Field(1, ge=1, le=3)
    enabled: bool = True


def signing_key(endpoint_id: int) -> str:
    secret = current_app.config["SERVERMON"].secret_key.encode()
    return hmac.new(secret, f"servermon-endpoint:{endpoint_id}".encode(), hashlib.sha256).hexdigest()


def sign(endpoint_id: int, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``<timestamp>.<body>``: a replayed post carries an old time."""
    mac = hmac.new(signing_key(endpoint_id).encode(), timestamp.encode() + b"." + body,
                   hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def address(endpoint: NotificationEndpoint) -> str:
    return f"{ADDRESS_PREFIX}{endpoint.id}"


def endpoint_for(recipient: str) -> NotificationEndpoint | None:
    """The endpoint an outbox row's recipient names, if it still exists."""
    number = recipient.removeprefix(ADDRESS_PREFIX)
    return db.session.get(NotificationEndpoint, int(number)) if number.isdigit() else None


def live_endpoint(recipient: str) -> NotificationEndpoint:
    """The endpoint a page goes to; Undeliverable once it is removed or switched off."""
    endpoint = endpoint_for(recipient)
    if endpoint is None or not endpoint.enabled:
        raise Undeliverable(f"{recipient} was removed or switched off")
    return endpoint


def serialize_endpoint(endpoint: NotificationEndpoint, *, with_key: bool = False) -> dict:
    parts = urlsplit(endpoint.url)
    data = {"id": endpoint.id, "name": endpoint.name, "kind": endpoint.kind,
            # A chat webhook's path is its secret: only the host is shown back.
            "url": f"{parts.scheme}://{parts.netloc}/…", "tier": endpoint.tier,
            "enabled": endpoint.enabled, "created_at": endpoint.created_at.isoformat()}
    if with_key and endpoint.kind == "webhook":
        data["signing_key"] = signing_key(endpoint.id)
    return data


def all_endpoints() -> list[NotificationEndpoint]:
    return list(db.session.scalars(db.select(NotificationEndpoint).order_by(NotificationEndpoint.id)))


def _audited(endpoint: NotificationEndpoint) -> dict:
    """Its kind and origin only: a chat webhook's path is its secret."""
    parts = urlsplit(endpoint.url)
    return {"kind": endpoint.kind, "url": f"{parts.scheme}://{parts.netloc}/…"}


def add_endpoint(body: EndpointIn) -> NotificationEndpoint:
    endpoint = NotificationEndpoint(**body.model_dump())
    db.session.add(endpoint)
    db.session.flush()
    record("endpoint.added", target_of("endpoint", endpoint), after=_audited(endpoint))
    db.session.commit()
    return endpoint


def remove_endpoint(endpoint_id: int) -> None:
    endpoint = db.session.get(NotificationEndpoint, endpoint_id)
    if endpoint is None:
        raise APIError(404, f"no endpoint with id {endpoint_id}", {"id": "not found"})
    target, before = target_of("endpoint", endpoint), _audited(endpoint)
    db.session.delete(endpoint)
    record("endpoint.removed", target, before=before)
    db.session.commit()
