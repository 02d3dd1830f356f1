"""Acknowledge from the page itself: each DOWN, FLAPPING and ESCALATED e-mail and SMS
carries a link that acknowledges its incidents without signing in.

The link is signed (itsdangerous, with SECRET_KEY and a salt of its own), names one outbox
row, expires after ACK_LINK_TTL_S and works once (``Notification.ack_used_at``). What it
acknowledges is what its message told of: that row's incident, or for a storm digest every
incident the digest carried. It is recorded with who the message was sent to. Opening the
link only shows what it would acknowledge; the button on that page (a POST) does it, so a
mail scanner that follows links acknowledges nothing.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.errors import APIError

ACK_LINK_TTL_S = 24 * 3600
SALT = "servermon-ack-link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SERVERMON"].secret_key, salt=SALT)


def ack_url(row_id: int) -> str:
    return f"{current_app.config['SERVERMON'].portal_url}/ack/{_serializer().dumps(row_id)}"


def read_token(token: str) -> int:
    """The outbox row a link names; 410 once expired, 404 for anything not ours."""
    try:
        row_id = _serializer().loads(token, max_age=ACK_LINK_TTL_S)
    except SignatureExpired as exc:
        raise APIError(410, "this acknowledgement link has expired; sign in to acknowledge",
                       {"token": "expired"}) from exc
    except BadSignature as exc:
        raise APIError(404, "no such acknowledgement link", {"token": "not valid"}) from exc
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        raise APIError(404, "no such acknowledgement link", {"token": "not valid"})
    return row_id
