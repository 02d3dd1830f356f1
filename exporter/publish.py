"""Results to the portal through Redis: the latest per server, and every state change.

* Every result overwrites the server's field in the hash ``servermon:latest``; results
  are gathered and written in one pipeline every FLUSH_EVERY_S, so 10,000 servers cost a
  few round trips a second, not one per probe. A removed server's field is deleted.
  The entry carries the server's last HEARTBEATS outcomes (``beats``), kept here in
  memory: the dashboard's heartbeat bars read them with the newest result, in the same
  read, instead of asking Prometheus for a range per server. They start again empty when
  the exporter restarts, and the bar says how many it has.
* Every state change (first result, up to down, down to up) is added to the stream
  ``servermon:events``, which the portal consumes exactly once (``event_id`` makes a
  re-sent change harmless). Browsers hear of a change from the portal once it has stored
  it, never from here, so what they show is always what the history holds.

While Redis is away, probing goes on: changes wait in a bounded queue and are sent in
order when it returns; if it stays away very long only the oldest are dropped, and
counted. The latest results simply wait for the next flush.

Once the portal has named its deployment (service discovery's ``DEPLOYMENT_HEADER``), the
exporter claims the database for it before writing, as the worker does (``DEPLOYMENT_KEY``,
renewed every DEPLOYMENT_CHECK_S): so while it publishes, no other deployment's worker can
take the database and store these changes in its own log, even when this deployment's
worker is stopped. While another deployment holds it, nothing is written: the changes wait
as they do for a Redis that is away, and go once the database is the portal's again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from exporter import health
from exporter.probes.result import ProbeResult
from exporter.scheduler import TargetState
from wire import (
    DEPLOYMENT_CLAIM,
    DEPLOYMENT_KEY,
    DEPLOYMENT_LEASE_S,
    EVENTS_STREAM,
    HEARTBEATS,
    LATEST_HASH,
    deployment_claim,
    deployment_holder,
    redis_database,
)

log = logging.getLogger(__name__)

STREAM_MAXLEN = 100_000
QUEUE_LIMIT = 10_000
BATCH = 2_000  # state changes per pipeline
FLUSH_EVERY_S = 0.2
GATHER_S = 0.02  # after a state change, wait this long for others to share the pipeline
PING_EVERY_S = 5.0  # with nothing to send, still find out whether Redis is there
MAX_BACKOFF_S = 5.0
DEPLOYMENT_CHECK_S = 5.0  # how often the deployment's claim is renewed (read, when unnamed)
CONFLICT_LOG_S = 60.0


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def latency_ms(result: ProbeResult) -> float | None:
    """A latency only for a probe that succeeded: a failed one's time is how long it took
    to fail (a refused connect, a timeout), not how fast the server answers. None for a
    heartbeat too: nothing was asked of it, and "0 ms" on its tile would say it answered."""
    if not result.success or result.heartbeat is not None:
        return None
    return round(result.latency_s * 1000, 3)


class Heartbeats:
    """The last ``size`` outcomes of one server, oldest first: "u" (up) or "d" (down),
    with each one's latency (None for a failure), and the newest certificate expiry a
    probe saw (a failed probe often sees none; the last one seen is still the truth)."""

    __slots__ = ("beats", "cert_expiry", "latencies")

    def __init__(self, size: int = HEARTBEATS) -> None:
        self.beats: deque[str] = deque(maxlen=size)
        self.latencies: deque[float | None] = deque(maxlen=size)
        self.cert_expiry: float | None = None

    def add(self, result: ProbeResult) -> None:
        self.beats.append("u" if result.success else "d")
        latency = latency_ms(result)
        self.latencies.append(round(latency, 1) if latency is not None else None)
        if result.cert_expiry is not None:
            self.cert_expiry = result.cert_expiry


def latest_json(state: TargetState, heartbeats: Heartbeats | None = None) -> str:
    result = state.result
    entry = {
        "server_id": state.target.server_id,
        "status": state.status,
        "reason": result.reason,
        "latency_ms": latency_ms(result),
        "checked_at": _iso(state.checked_at),
        "status_code": result.http_status_code,
        "cert_expiry": result.cert_expiry,
        "beats": "",
        "beat_latency_ms": [],
    }
    if heartbeats is not None:
        entry.update(cert_expiry=heartbeats.cert_expiry, beats="".join(heartbeats.beats),
                     beat_latency_ms=list(heartbeats.latencies))
    return json.dumps(entry)


def change_fields(state: TargetState, previous: str | None) -> dict[str, str]:
    """The stream entry for a state change; ``at`` is when the new state was first seen."""
    result = state.result
    return {
        "event_id": uuid.uuid4().hex,
        "server_id": str(state.target.server_id),
        "status": state.status or "",
        "previous": previous or "unknown",
        "reason": result.reason or "",
        "latency_ms": "" if (latency := latency_ms(result)) is None else f"{latency:.3f}",
        "at": _iso(state.changed_at),
        "last_ok_at": _iso(state.last_ok_at) if state.status == "down" else "",
    }


def _no_deployment() -> str | None:
    return None


class Publisher:
    """``deployment()`` is the deployment the portal named, None until it has."""

    def __init__(self, redis_url: str, queue_limit: int = QUEUE_LIMIT,
                 deployment: Callable[[], str | None] = _no_deployment) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True,
                                             socket_timeout=5, socket_connect_timeout=3)
        self.queue_limit = queue_limit
        self.deployment = deployment
        self.holder: dict | None = None  # the deployment key's value, as last read
        self.holder_seen_s = 0.0
        self.checked_at = -math.inf
        self.conflict = False
        self.conflict_logged_at = -math.inf
        self.latest: dict[str, str] = {}
        self.heartbeats: dict[str, Heartbeats] = {}
        self.removed: set[str] = set()
        self.events: deque[dict[str, str]] = deque()
        self.wake = asyncio.Event()
        self.last_contact = 0.0
        self.up = False

    def record(self, state: TargetState, previous: str | None) -> None:
        """Take one result (the scheduler's result handler); never waits on Redis."""
        key = str(state.target.server_id)
        heartbeats = self.heartbeats.get(key)
        if heartbeats is None:
            heartbeats = self.heartbeats[key] = Heartbeats()
        heartbeats.add(state.result)
        self.latest[key] = latest_json(state, heartbeats)
        self.removed.discard(key)
        if state.status != previous:
            self._queue([change_fields(state, previous)])
            self.wake.set()

    def forget(self, server_id: int) -> None:
        key = str(server_id)
        self.latest.pop(key, None)
        self.heartbeats.pop(key, None)
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

    async def held_by_another(self) -> bool:
        """Whether another deployment than the portal's holds the database. Every
        DEPLOYMENT_CHECK_S the portal's deployment claims it (the key is only read while
        the portal has not named one: the exporter has no targets from it yet)."""
        now = time.monotonic()
        ours = self.deployment()
        if now - self.checked_at >= DEPLOYMENT_CHECK_S:
            self.holder, ttl_ms = await self._claim(ours)
            self.holder_seen_s = max(DEPLOYMENT_LEASE_S - ttl_ms / 1000, 0.0)
            self.checked_at = self.last_contact = now
        conflict = bool(ours and self.holder and self.holder["name"] != ours)
        self._report(conflict, ours, now)
        self.conflict = conflict
        health.DEPLOYMENT_CONFLICT.set(int(conflict))
        return conflict

    async def _claim(self, ours: str | None) -> tuple[dict | None, int]:
        """The claim found (None, or this deployment's) and its time to live in ms."""
        if ours is None:
            pipe = self.redis.pipeline(transaction=False)
            pipe.get(DEPLOYMENT_KEY)
            pipe.pttl(DEPLOYMENT_KEY)
            value, ttl_ms = await pipe.execute()
            return deployment_holder(value), ttl_ms
        held = await self.redis.eval(DEPLOYMENT_CLAIM, 1, DEPLOYMENT_KEY, ours,
                                     deployment_claim(ours, "exporter"), DEPLOYMENT_LEASE_S)
        if not held:
            return {"name": ours}, DEPLOYMENT_LEASE_S * 1000
        value, ttl_ms = held
        # The script found another's name in it; should Python read it otherwise, still refuse.
        return deployment_holder(value) or {"name": str(value)[:63]}, int(ttl_ms)

    def _report(self, conflict: bool, ours: str | None, now: float) -> None:
        """A conflict's line at most every CONFLICT_LOG_S, and one when it ends."""
        if conflict and now - self.conflict_logged_at >= CONFLICT_LOG_S:
            self.conflict_logged_at = now
            holder = self.holder or {}
            log.error('%s is in use by deployment "%s" (%s on host %s pid %s, seen %.0f s ago); '
                      'this exporter\'s portal is deployment "%s", so nothing is published (%d '
                      "state changes queued). Give each deployment its own Redis database "
                      "(REDIS_URL), or point PORTAL_URL at that deployment's portal.",
                      redis_database(self.redis), holder.get("name"),
                      holder.get("process") or "worker", holder.get("host"),
                      holder.get("pid"), self.holder_seen_s, ours, len(self.events))
        elif self.conflict and not conflict:
            self.conflict_logged_at = -math.inf
            log.info("%s is this deployment's again; publishing %d queued state changes",
                     redis_database(self.redis), len(self.events))

    async def flush(self) -> None:
        """Send what has gathered; on failure put it back, newer news winning."""
        if await self.held_by_another():
            return
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
            if self.events and not self.conflict:
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
