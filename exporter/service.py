"""Wiring: discovery feeds the scheduler, results go to the publisher and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from exporter.config import ExporterConfig
from exporter.discovery import Discovery
from exporter.http_server import build_app
from exporter.probes.http import CLIENT
from exporter.publish import Publisher
from exporter.scheduler import Scheduler

log = logging.getLogger(__name__)


class Exporter:
    def __init__(self, config: ExporterConfig) -> None:
        self.config = config
        self.publisher = Publisher(config.redis_url)
        self.scheduler = Scheduler(config.concurrency, self.publisher.record,
                                   self.publisher.forget)
        self.discovery = Discovery(config, self.scheduler.update)
        self.runner: web.AppRunner | None = None
        self.background: list[asyncio.Task] = []

    async def start(self) -> None:
        self.runner = web.AppRunner(build_app(self.scheduler, self.config.sd_token),
                                    access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.config.listen, self.config.port).start()
        loop = asyncio.get_running_loop()
        self.background = [loop.create_task(coro) for coro in (
            self.discovery.poll(), self.discovery.listen(), self.publisher.run())]
        log.info("exporter listening on %s:%d, targets from %s", self.config.listen,
                 self.config.port, self.config.portal_url)

    async def stop(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.scheduler.stop()
        await self.publisher.close()
        await CLIENT.close()
        if self.runner:
            await self.runner.cleanup()


async def serve(config: ExporterConfig) -> None:
    exporter = Exporter(config)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stopping.set)
    await exporter.start()
    await stopping.wait()
    await exporter.stop()
