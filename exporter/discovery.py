"""Targets from the portal's HTTP service discovery, refreshed on a timer and on notice.

The portal publishes a notice on the Redis channel ``servermon:targets:db<N>`` when a server
is added, edited or removed; the exporter refetches within a second. Notices only speed
things up: the timer (SD_REFRESH_S) still catches anything missed, so Redis being away
costs freshness, never probing. If the portal is unreachable the last good list stays in
force and ``servermon_sd_up`` says so. Each answer names the portal's deployment
(``DEPLOYMENT_HEADER``); the publisher checks Redis is that deployment's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable

import aiohttp
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from exporter import health
from exporter.config import ExporterConfig
from exporter.targets import Target
from wire import DEPLOYMENT_HEADER, TARGETS_CHANNEL, channel

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.1  # one fetch for a burst of edits
FETCH_TIMEOUT_S = 10.0
MAX_BACKOFF_S = 10.0


class SDError(Exception):
    """The portal's answer could not be used; the message says why."""


class GroupParser:
    """Targets of this shard from an SD answer; malformed groups are skipped and logged.

    A group identical to the last fetch's keeps its Target object, so an unchanged list
    of 10,000 servers costs a dict comparison each rather than a parse, and the
    scheduler sees at a glance (``is``) that nothing changed.
    """

    def __init__(self, shard: int = 0, shards: int = 1) -> None:
        self.shard, self.shards = shard, shards
        self.known: dict[int, tuple[dict, Target]] = {}

    def parse(self, groups: object) -> list[Target]:
        if not isinstance(groups, list):
            raise SDError(f"expected a list of target groups, got {type(groups).__name__}")
        known: dict[int, tuple[dict, Target]] = {}
        targets = []
        for group in groups:
            target = self._target(group)
            if target is not None and target.server_id % self.shards == self.shard:
                known[target.server_id] = (group, target)
                targets.append(target)
        self.known = known
        return targets

    def _target(self, group: object) -> Target | None:
        try:
            server_id = int(group["labels"]["server_id"])  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            server_id = None  # from_group below says what is wrong
        if server_id is not None:
            if server_id % self.shards != self.shard:
                return None
            seen = self.known.get(server_id)
            if seen is not None and seen[0] == group:
                return seen[1]
        try:
            return Target.from_group(group)  # type: ignore[arg-type]
        except ValueError as exc:
            log.warning("skipping target group %s: %s", str(group)[:200], exc)
            return None


class Discovery:
    def __init__(self, config: ExporterConfig,
                 on_targets: Callable[[list[Target]], None]) -> None:
        self.config = config
        self.on_targets = on_targets
        self.refresh = asyncio.Event()
        self.up = False
        self.deployment: str | None = None  # the portal's, from its last answer
        self.parser = GroupParser(config.shard, config.shards)

    async def fetch(self, session: aiohttp.ClientSession) -> list[Target]:
        async with session.get(
            f"{self.config.portal_url}/api/sd/targets",
            headers={"Authorization": f"Bearer {self.config.sd_token}"},
            timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S),
        ) as response:
            if response.status != 200:
                raise SDError(f"the portal answered {response.status}")
            self.deployment = response.headers.get(DEPLOYMENT_HEADER) or None
            body = await response.read()
        # Decoding and checking 10,000 groups takes a few hundred ms: in a thread, the
        # event loop keeps starting probes on time meanwhile.
        return await asyncio.to_thread(self._decode, body)

    def _decode(self, body: bytes) -> list[Target]:
        return self.parser.parse(json.loads(body))

    async def refresh_once(self, session: aiohttp.ClientSession) -> bool:
        """Fetch and apply the list; on any failure keep the last one and count it."""
        try:
            targets = await self.fetch(session)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError, SDError) as exc:
            self.up = False
            health.SD_UP.set(0)
            health.SD_FAILURES.inc()
            log.warning("service discovery failed, keeping the last targets: %s",
                        str(exc) or type(exc).__name__)
            return False
        self.on_targets(targets)
        self.up = True
        health.SD_UP.set(1)
        health.SD_LAST_SUCCESS.set(time.time())
        return True

    async def poll(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                self.refresh.clear()
                await self.refresh_once(session)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.sd_refresh_s):
                        await self.refresh.wait()
                        await asyncio.sleep(DEBOUNCE_S)

    async def listen(self) -> None:
        """Turn change notices into prompt refreshes; reconnect with backoff."""
        backoff = 0.5
        while True:
            client = aioredis.Redis.from_url(self.config.redis_url, socket_connect_timeout=3,
                                             health_check_interval=30)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(channel(TARGETS_CHANNEL, client))
                    backoff = 0.5
                    self.refresh.set()  # changes may have been missed while unsubscribed
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.refresh.set()
            except (RedisError, OSError) as exc:
                log.warning("change notices unavailable (%s); polling every %ss", exc,
                            self.config.sd_refresh_s)
            finally:
                await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
