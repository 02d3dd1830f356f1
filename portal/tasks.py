"""The worker: ``dramatiq portal.tasks``.

Builds the app once per worker process, binds the actors to it, and runs two loops
beside the actors: the consumer of the exporter's state changes and the outbox sweeper.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq.middleware import Middleware

from portal import create_app
from portal.charts.uptime import refresh_uptime
from portal.extensions import db
from portal.incidents.maintenance import sync_silence, unsynced_windows
from portal.notify.outbox import bind_app, sweep
from portal.servers.ingest import StreamConsumer

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 15

app = create_app()
bind_app(app)


def sweep_once() -> None:
    with app.app_context():
        try:
            requeued = sweep()
            if requeued:
                log.info("requeued %d notifications", requeued)
            for window in unsynced_windows():
                sync_silence(window)
            refresh_uptime()
        finally:
            db.session.remove()


class Background(Middleware):
    """Start the ingest consumer and the sweeper with the worker, stop them with it."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.consumer: StreamConsumer | None = None

    def _sweeper(self) -> None:
        while not self.stopping.wait(SWEEP_EVERY_S):
            try:
                sweep_once()
            except Exception:
                log.exception("sweep failed")

    def after_worker_boot(self, broker, worker) -> None:
        self.consumer = StreamConsumer(app)
        self.consumer.start_thread()
        threading.Thread(target=self._sweeper, name="servermon-sweeper", daemon=True).start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self.stopping.set()
        if self.consumer:
            self.consumer.stopping.set()


dramatiq.get_broker().add_middleware(Background())
