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
STOP_TIMEOUT_S = 5

app = create_app()
bind_app(app)


def _requeue() -> None:
    requeued = sweep()
    if requeued:
        log.info("requeued %d notifications", requeued)


def _sync_silences() -> None:
    for window in unsynced_windows():
        sync_silence(window)


def sweep_once() -> None:
    """The periodic jobs, each on its own: one failing (say, Prometheus) skips no other."""
    for job in (_requeue, _sync_silences, refresh_uptime):
        with app.app_context():
            try:
                job()
            except Exception:
                db.session.rollback()
                log.exception("periodic job %s failed", job.__name__)
            finally:
                db.session.remove()


class Background(Middleware):
    """Start the ingest consumer and the sweeper with the worker, stop them with it."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.consumer: StreamConsumer | None = None
        self.threads: list[threading.Thread] = []

    def _sweeper(self) -> None:
        while not self.stopping.wait(SWEEP_EVERY_S):
            sweep_once()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping.clear()
        self.consumer = StreamConsumer(app)
        sweeper = threading.Thread(target=self._sweeper, name="servermon-sweeper", daemon=True)
        sweeper.start()
        self.threads = [self.consumer.start_thread(), sweeper]

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Both loops wake at least every second or so; a stuck one is a daemon thread."""
        self.stopping.set()
        if self.consumer:
            self.consumer.stopping.set()
        for thread in self.threads:
            thread.join(timeout=STOP_TIMEOUT_S)


dramatiq.get_broker().add_middleware(Background())
