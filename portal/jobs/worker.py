"""The worker process: ``dramatiq portal.jobs.worker``.

It builds the app once, binds the jobs (``portal.jobs.actors``) to it, and runs two loops
beside them: the consumer of the exporter's state changes (``servers.ingest``) and the
periodic jobs (``portal.jobs.periodic``).
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.middleware import Middleware

from portal import create_app
from portal.jobs.actors import bind_app
from portal.jobs.periodic import EVERY_S, run_periodic
from portal.servers.ingest import StreamConsumer

STOP_TIMEOUT_S = 5

app = create_app()
bind_app(app)


class Background(Middleware):
    """Start the ingest consumer and the periodic loop with the worker, stop them with it."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.consumer: StreamConsumer | None = None
        self.threads: list[threading.Thread] = []

    def _periodic(self) -> None:
        while not self.stopping.wait(EVERY_S):
            run_periodic(app)

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping.clear()
        self.consumer = StreamConsumer(app)
        periodic = threading.Thread(target=self._periodic, name="servermon-sweeper", daemon=True)
        periodic.start()
        self.threads = [self.consumer.start_thread(), periodic]

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Both loops wake at least every second or so; a stuck one is a daemon thread."""
        self.stopping.set()
        if self.consumer:
            self.consumer.stopping.set()
        for thread in self.threads:
            thread.join(timeout=STOP_TIMEOUT_S)


dramatiq.get_broker().add_middleware(Background())
