"""Results to the portal through Redis: the latest per server, and every state change.

* Every result overwrites the server's field in the hash ``servermon:latest``; results
  are gathered and written in one pipeline every FLUSH_EVERY_S, so 10,000 servers cost a
  few round trips a second, not one per probe. A removed server's field is deleted.
* Every state change (first result, up to down, down to up) is added to the stream
  ``servermon:events``, which the portal consumes exactly once (``event_id`` makes a
  re-sent change harmless). Browsers hear of a change from the portal once it has stored
  it, never from here, so what they show is always what the history holds.

While Redis is away, probing goes on: changes wait in a bounded queue and are sent in
order when it returns; if it stays away very long only the oldest are dropped, and
counted. The latest results simply wait for the next flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from datetime import datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from exporter import health
from exporter.scheduler import TargetState
from wire import EVENTS_STREAM, LATEST_HASH

log = logging.getLogger(__name__)

STREAM_MAXLEN = 100_000
QUEUE_LIMIT = 10_000
BATCH = 2_000  # state changes per pipeline
FLUSH_EVERY_S = 0.2
GATHER_S = 0.02  # after a state change, wait this long for others to share the pipeline
PING_EVERY_S = 5.0  # with nothing to send, still find out whether Redis is there
MAX_BACKOFF_S = 5.0


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def latest_json(state: TargetState) -> str:
    result = state.result
    return json.dumps({
        "server_id": state.target.server_id,
        "status": state.status,
        "reason": result.reason,
        "latency_ms": round(result.latency_s * 1000, 3),
        "checked_at": _iso(state.checked_at),
        "status_code": result.http_status_code,
    })


def change_fields(state: TargetState, previous: str | None) -> dict[str, str]:
    """The stream entry for a state change; ``at`` is when the new state was first seen."""
    result = state.result
    return {
        "event_id": uuid.uuid4().hex,
        "server_id": str(state.target.server_id),
        "status": state.status or "",
        "previous": previous or "unknown",
        "reason": result.reason or "",
        "latency_ms": f"{result.latency_s * 1000:.3f}",
        "at": _iso(state.changed_at),
        "last_ok_at": _iso(state.last_ok_at) if state.status == "down" else "",
    }


class Publisher:
    def __init__(self, redis_url: str, queue_limit: int = QUEUE_LIMIT) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True,
                                             socket_timeout=5, socket_connect_timeout=3)
        self.queue_limit = queue_limit
        self.latest: dict[str, str] = {}
        self.removed: set[str] = set()
        self.events: deque[dict[str, str]] = deque()
        self.wake = asyncio.Event()
        self.last_contact = 0.0
        self.up = False

    def record(self, state: TargetState, previous: str | None) -> None:
        """Take one result (the scheduler's result handler); never waits on Redis."""
        key = str(state.target.server_id)
        self.latest[key] = latest_json(state)
        self.removed.discard(key)
        if state.status != previous:
            self._queue([change_fields(state, previous)])
            self.wake.set()

    def forget(self, server_id: int) -> None:
        key = str(server_id)
        self.latest.pop(key, None)
        self.removed.add(key)

    def _queue(self, changes: list[dict[str, str]], front: bool = False) -> None:
        if front:
            self.events.extendleft(reversed(changes))
        else:
            self.events.extend(changes)
        while len(self.events) > self.queue_limit:
            self.events.popleft()
            health.EVENTS_DROPPED.inc()
        health.EVENTS_QUEUED.set(len(self.events))

    async def flush(self) -> None:
        """Send what has gathered; on failure put it back, newer news winning."""
        latest, self.latest = self.latest, {}
        removed, self.removed = self.removed, set()
        changes = [self.events.popleft() for _ in range(min(BATCH, len(self.events)))]
        if not (latest or removed or changes):
            if time.monotonic() - self.last_contact > PING_EVERY_S:
                await self.redis.ping()
                self.last_contact = time.monotonic()
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            if latest:
                pipe.hset(LATEST_HASH, mapping=latest)
            if removed:
                pipe.hdel(LATEST_HASH, *removed)
            for fields in changes:
                pipe.xadd(EVENTS_STREAM, fields, maxlen=STREAM_MAXLEN, approximate=True)
            await pipe.execute()
        except BaseException:
            for key, value in latest.items():
                if key not in self.removed:
                    self.latest.setdefault(key, value)
            self.removed.update(key for key in removed if key not in self.latest)
            self._queue(changes, front=True)
            raise
        self.last_contact = time.monotonic()
        health.EVENTS_QUEUED.set(len(self.events))

    async def run(self) -> None:
        backoff = FLUSH_EVERY_S
        while True:
            try:
                await self.flush()
            except (RedisError, OSError) as exc:
                self.up = False
                health.REDIS_UP.set(0)
                if backoff == FLUSH_EVERY_S:
                    log.warning("publishing to Redis failed (%s); %d changes queued", exc,
                                len(self.events))
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                await asyncio.sleep(backoff)
                continue
            self.up = True
            health.REDIS_UP.set(1)
            if backoff != FLUSH_EVERY_S:
                log.info("publishing to Redis again")
                backoff = FLUSH_EVERY_S
            if self.events:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_EVERY_S):
                    await self.wake.wait()
                    await asyncio.sleep(GATHER_S)
            self.wake.clear()

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(2):
                await self.flush()
        await self.redis.aclose()
