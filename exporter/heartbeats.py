"""What the heartbeat monitors' jobs have said, as the portal wrote it to Redis.

The portal stores every ping in its database and then writes the job's state to the hash
``HEARTBEATS_HASH`` and the channel ``PINGS_CHANNEL``. This book holds the newest state
per server in memory: loaded from the hash each time the channel is (re)subscribed, so
nothing said while unsubscribed is missed, and kept up to date by the channel, each
message waking the server's judgement at once (a ``/fail`` or a recovery is news now).

Silence is only believed when the book can have heard: a job is never called late while
the channel is down, nor for SETTLE_S after it comes back, during which the portal's
worker copies into Redis any ping whose write the portal could not make (Redis lost, or
restarted empty). A Redis outage therefore delays a late verdict; it never invents one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from wire import channel
from wire.heartbeat import HEARTBEATS_HASH, PINGS_CHANNEL, PingState

log = logging.getLogger(__name__)

SETTLE_S = 20.0  # longer than the worker's 15 s pass, which restores what Redis lost
MAX_BACKOFF_S = 5.0


def newer(old: PingState | None, new: PingState) -> bool:
    """Whether ``new`` is news: a hash reloaded after a message may hold an older state."""
    return old is None or (new.last_ping_at or 0) >= (old.last_ping_at or 0)


class PingBook:
    """``on_ping(server_id)`` is called for each state that changed, from the event loop."""

    def __init__(self, redis_url: str, on_ping: Callable[[int], None],
                 settle_s: float = SETTLE_S) -> None:
        self.redis_url = redis_url
        self.on_ping = on_ping
        self.settle_s = settle_s
        self.states: dict[int, PingState] = {}
        self.heard_since: float | None = None  # monotonic: subscribed and loaded since

    def get(self, server_id: int) -> PingState | None:
        return self.states.get(server_id)

    def trusted(self, now: float | None = None) -> bool:
        """Whether the absence of a ping means the job did not ping."""
        now = time.monotonic() if now is None else now
        return self.heard_since is not None and now - self.heard_since >= self.settle_s

    def take(self, state: PingState) -> None:
        if newer(self.states.get(state.server_id), state):
            self.states[state.server_id] = state
            self.on_ping(state.server_id)

    def take_text(self, text: str | bytes) -> None:
        try:
            self.take(PingState.from_json(text))
        except ValueError as exc:
            log.warning("ignored a heartbeat state that is not one: %s", exc)

    async def load(self, client: aioredis.Redis) -> None:
        for text in (await client.hgetall(HEARTBEATS_HASH)).values():
            self.take_text(text)

    async def listen(self) -> None:
        """Subscribe, load the hash, follow the channel; reconnect with backoff."""
        backoff = 0.5
        while True:
            client = aioredis.Redis.from_url(self.redis_url, socket_connect_timeout=3,
                                             health_check_interval=30)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(channel(PINGS_CHANNEL, client))
                    await self.load(client)
                    self.heard_since = time.monotonic()
                    backoff = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.take_text(message["data"])
            except (RedisError, OSError) as exc:
                if self.heard_since is not None:
                    log.warning("heartbeat pings unavailable (%s): no job is called late "
                                "until they are back", exc)
            finally:
                self.heard_since = None
                await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
