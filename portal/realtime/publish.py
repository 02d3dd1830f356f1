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
# Never sent to a browser: the hub hands it to the user's sockets, which check their
# session at once, so an event published after a sign-out never reaches one it ended.
SESSION_CHECK = "session_check"


def publish(kind: str, data: dict) -> None:
    """Best effort: a browser that misses an event reloads a snapshot when it reconnects."""
    try:
        get_redis().publish(channel(CHANNEL), json.dumps({"type": kind, "data": data}, default=str))
    except redis.RedisError as exc:
        log.warning("live update %s not published: %s", kind, exc)


def check_sessions_of(user_id: int) -> None:
    """Sent once a session of this user has ended; best effort like every event, as the
    sockets also check on their own every few seconds."""
    publish(SESSION_CHECK, {"user_id": user_id})
