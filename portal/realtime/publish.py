"""Fan-out of live events to every portal process through Redis pub/sub.

Each process's WebSocket hub subscribes to one channel (``servermon:ws:db<N>``, see
``portal.redis_client.channel``) and forwards to its own clients,
so several portal processes behind nginx all see every event.
"""

from __future__ import annotations

import json
import logging

import redis

from portal.redis_client import channel, get_redis

log = logging.getLogger(__name__)

CHANNEL = "servermon:ws"


def publish(kind: str, data: dict) -> None:
    """Best effort: a browser that misses an event reloads a snapshot when it reconnects."""
    try:
        get_redis().publish(channel(CHANNEL), json.dumps({"type": kind, "data": data}, default=str))
    except redis.RedisError as exc:
        log.warning("live update %s not published: %s", kind, exc)
