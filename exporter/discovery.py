"""Targets from the portal's HTTP service discovery, refreshed on a timer and on notice.

The portal publishes a notice on Redis when a server is added, edited or removed; the
exporter refetches within a second. If the portal is unreachable, the last good list
stays in force and ``servermon_sd_up`` says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from exporter import health
from exporter.config import ExporterConfig
from exporter.targets import Target

log = logging.getLogger(__name__)

NOTICE_CHANNEL = "servermon:targets"
DEBOUNCE_S = 0.1


class Discovery:
    def __init__(self, config: ExporterConfig, on_targets: Callable[[list[Target]], None]) -> None:
        self.config = config
        self.on_targets = on_targets
        self.refresh = asyncio.Event()

    def mine(self, target: Target) -> bool:
        return target.server_id % self.config.shards == self.config.shard

    async def fetch(self, session: aiohttp.ClientSession) -> list[Target]:
        async with session.get(
            f"{self.config.portal_url}/api/sd/targets",
            headers={"Authorization": f"Bearer {self.config.sd_token}"},
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            response.raise_for_status()
            groups = await response.json(content_type=None)
        targets = []
        for group in groups:
            try:
                target = Target.from_group(group)
            except (KeyError, ValueError, IndexError, TypeError) as exc:
                log.warning("skipping a malformed target group: %s", exc)
                continue
            if self.mine(target):
                targets.append(target)
        return targets

    async def poll(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    targets = await self.fetch(session)
                    self.on_targets(targets)
                    health.SD_UP.set(1)
                    health.SD_LAST_SUCCESS.set(time.time())
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    health.SD_UP.set(0)
                    health.SD_FAILURES.inc()
                    log.warning("service discovery failed, keeping the last targets: %s", exc)
                try:
                    async with asyncio.timeout(self.config.sd_refresh_s):
                        await self.refresh.wait()
                    await asyncio.sleep(DEBOUNCE_S)  # one fetch for a burst of edits
                except TimeoutError:
                    pass
                self.refresh.clear()

    async def listen(self) -> None:
        backoff = 0.5
        while True:
            client = aioredis.Redis.from_url(self.config.redis_url, decode_responses=True)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(NOTICE_CHANNEL)
                    backoff = 0.5
                    self.refresh.set()  # changes may have been missed while unsubscribed
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.refresh.set()
            except (RedisError, OSError) as exc:
                log.warning("change notices unavailable (%s); polling only", exc)
            finally:
                await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10)
