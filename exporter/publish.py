"""Results to the portal through Redis: the latest per server, and every state change.

The latest results are batched into one pipeline every fraction of a second; a state
change also goes to a stream (which the portal consumes exactly once) and to the live
channel. While Redis is away, changes wait in a bounded queue and are sent in order when
it returns; only the oldest are dropped, and counted, if it stays away very long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from exporter import health
from exporter.scheduler import TargetState

log = logging.getLogger(__name__)

LATEST_KEY = "servermon:latest"
EVENTS_STREAM = "servermon:events"
LIVE_CHANNEL = "servermon:live"
STREAM_MAXLEN = 100_000
QUEUE_LIMIT = 10_000
FLUSH_EVERY_S = 0.2


def _iso(value) -> str:
    return value.isoformat() if value else ""


def latest_json(state: TargetState) -> str:
    result = state.result
    return json.dumps({
        "server_id": state.target.server_id,
        "status": state.status,
        "reason": result.reason,
        "latency_ms": round(result.duration_s * 1000, 3),
        "checked_at": _iso(state.checked_at),
        "status_code": result.http_status_code,
    })


def change_fields(state: TargetState, previous: str | None) -> dict[str, str]:
    result = state.result
    return {
        "event_id": uuid.uuid4().hex,
        "server_id": str(state.target.server_id),
        "status": state.status or "",
        "previous": previous or "unknown",
        "reason": result.reason or "",
        "latency_ms": f"{result.duration_s * 1000:.3f}",
        "at": _iso(state.checked_at),
        "last_ok_at": _iso(state.last_ok_at) if state.status == "down" else "",
    }


class Publisher:
    def __init__(self, redis_url: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True,
                                             socket_timeout=5, socket_connect_timeout=3)
        self.latest: dict[str, str] = {}
        self.removed: set[str] = set()
        self.events: deque[dict[str, str]] = deque()
        self.wake = asyncio.Event()

    def record(self, state: TargetState, previous: str | None) -> None:
        key = str(state.target.server_id)
        self.latest[key] = latest_json(state)
        self.removed.discard(key)
        if state.status != previous:
            if len(self.events) >= QUEUE_LIMIT:
                self.events.popleft()
                health.EVENTS_DROPPED.inc()
            self.events.append(change_fields(state, previous))
            health.EVENTS_QUEUED.set(len(self.events))
            self.wake.set()

    def forget(self, server_id: int) -> None:
        key = str(server_id)
        self.latest.pop(key, None)
        self.removed.add(key)

    async def flush(self) -> None:
        latest, removed = self.latest, self.removed
        events = list(self.events)
        if not (latest or removed or events):
            return
        pipe = self.redis.pipeline(transaction=False)
        if latest:
            pipe.hset(LATEST_KEY, mapping=latest)
        if removed:
            pipe.hdel(LATEST_KEY, *removed)
        for fields in events:
            pipe.xadd(EVENTS_STREAM, fields, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.publish(LIVE_CHANNEL, json.dumps(fields))
        await pipe.execute()
        self.latest, self.removed = {}, set()
        for _ in events:
            self.events.popleft()
        health.EVENTS_QUEUED.set(len(self.events))

    async def run(self) -> None:
        backoff = FLUSH_EVERY_S
        while True:
            try:
                await self.flush()
                health.REDIS_UP.set(1)
                backoff = FLUSH_EVERY_S
            except (RedisError, OSError) as exc:
                health.REDIS_UP.set(0)
                log.warning("publishing to Redis failed (%s); %d changes queued", exc,
                            len(self.events))
                backoff = min(backoff * 2, 5.0)
            try:
                async with asyncio.timeout(backoff):
                    await self.wake.wait()
            except TimeoutError:
                pass
            self.wake.clear()

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.flush()
        await self.redis.aclose()
