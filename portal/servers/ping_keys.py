"""A heartbeat server's ping key: the unguessable part of ``/ping/<key>``.

A random UUID (122 bits). Looked up by its SHA-256 (a unique column), so the lookup
compares digests an attacker cannot steer, not the key itself; kept sealed
(wire/secrets.py, bound to PING_BINDING) so that server managers can read the URL again
for a new cron line. Rotating it makes the old URL a 404 at once.
"""

from __future__ import annotations

import hashlib
import uuid

from flask import current_app

from portal.servers.models import Server
from portal.servers.secrets import keyring
from wire.secrets import seal, unseal

PING_BINDING = "heartbeat-ping-key"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.strip().lower().encode()).hexdigest()


def issue_key(server: Server) -> str:
    """A fresh key for ``server`` (replacing any); returns it."""
    key = str(uuid.uuid4())
    server.ping_key_hash = key_hash(key)
    server.ping_key_sealed = seal(keyring(), key, bound_to=PING_BINDING)
    return key


def drop_key(server: Server) -> None:
    server.ping_key_hash = server.ping_key_sealed = None


def ping_key(server: Server) -> str | None:
    """The key in plaintext, for those who may manage the server; None without one or when
    this portal's PROBE_SECRETS_KEY no longer opens it (rotate it then)."""
    if not server.ping_key_sealed:
        return None
    try:
        return unseal(keyring(), server.ping_key_sealed, bound_to=PING_BINDING)
    except ValueError:
        return None


def ping_url(server: Server) -> str | None:
    key = ping_key(server)
    if key is None:
        return None
    return f"{current_app.config['SERVERMON'].portal_url.rstrip('/')}/ping/{key}"
