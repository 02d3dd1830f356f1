"""One Redis subscription per portal process, fanned out to its WebSocket clients.

Every portal process runs its own hub; Redis pub/sub delivers each event to all of them,
so it does not matter which process behind nginx a browser is connected to. A client
that lags too far behind is dropped (it reconnects and reloads a snapshot) rather than
let one slow browser hold memory for everyone.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass, field

import redis

from portal.rbac import has_permission
from portal.realtime.publish import CHANNEL, SESSION_CHECK
from portal.redis_client import channel

log = logging.getLogger(__name__)

CLIENT_QUEUE = 500
# Who may see which event: the permission key, or None for per-user events.
EVENT_PERMISSION = {
    "status": "status.view",
    "maintenance": "status.view",
    "incident": "alerts.view",
    "notification": None,
    "notification_failed": "alerts.view",
    "resync": "authenticated",
    SESSION_CHECK: None,
}


@dataclass(eq=False)
class Client:
    user_id: int
    role: str
    inbox: queue.Queue = field(default_factory=lambda: queue.Queue(CLIENT_QUEUE))
    dropped: bool = False

    def may_see(self, event: dict) -> bool:
        kind = event.get("type")
        if kind not in EVENT_PERMISSION:
            return False
        key = EVENT_PERMISSION[kind]
        if key is None:
            return event.get("data", {}).get("user_id") == self.user_id
        return has_permission(self.role, key)


class Hub:
    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.clients: set[Client] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.subscribed = threading.Event()

    def join(self, client: Client) -> None:
        """Add a client; returns once the hub listens, so no event after this is missed."""
        with self.lock:
            self.clients.add(client)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._listen, name="servermon-ws-hub",
                                               daemon=True)
                self.thread.start()
        self.subscribed.wait(timeout=3)

    def leave(self, client: Client) -> None:
        with self.lock:
            self.clients.discard(client)

    def deliver(self, event: dict) -> None:
        with self.lock:
            clients = list(self.clients)
        for client in clients:
            if not client.may_see(event):
                continue
            try:
                client.inbox.put_nowait(event)
            except queue.Full:
                client.dropped = True

    def _listen(self) -> None:
        backoff = 0.5
        reconnecting = False
        while not self.stopping.is_set():
            try:
                connection = redis.Redis.from_url(self.redis_url, decode_responses=True,
                                                  socket_connect_timeout=3,
                                                  health_check_interval=15)
                pubsub = connection.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel(CHANNEL, connection))
                pubsub.get_message(timeout=2, ignore_subscribe_messages=False)  # confirmed
                backoff = 0.5
                if reconnecting:  # events may have been missed while away: reload
                    self.deliver({"type": "resync", "data": {}})
                reconnecting = True
                self.subscribed.set()
                while not self.stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message["type"] == "message":
                        self._deliver_raw(message["data"])
            except redis.RedisError as exc:
                log.warning("live updates paused, Redis unavailable: %s", exc)
                self.subscribed.clear()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 10)

    def _deliver_raw(self, raw: str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            log.warning("unreadable live event dropped")
            return
        if isinstance(event, dict):
            self.deliver(event)
