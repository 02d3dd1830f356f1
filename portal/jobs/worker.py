"""The worker process: ``dramatiq portal.jobs.worker``.

It builds the app once, claims the Redis database for its deployment
(``portal.jobs.deployment``), binds the jobs (``portal.jobs.actors``) to the app, and runs
two loops beside them: the consumer of the exporter's state changes (``servers.ingest``)
and the periodic jobs (``portal.jobs.periodic``), which also renew the claim.
"""

from __future__ import annotations

import logging
import sys
import threading

import dramatiq
import redis
from dramatiq.middleware import Middleware

from portal import create_app
from portal.jobs.actors import bind_app
from portal.jobs.deployment import DeploymentConflict, Lease
from portal.jobs.periodic import EVERY_S, run_periodic
from portal.servers.ingest import StreamConsumer

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5

app = create_app()
lease = Lease(app.extensions["redis"], app.config["SERVERMON"].deployment)


def claim_or_exit() -> None:
    """Refuse to start beside another deployment, before any consumer or actor runs. An
    unreachable Redis is no refusal: the periodic loop claims once it answers, and the
    ingest waits for that."""
    try:
        lease.renew()
    except DeploymentConflict as exc:
        print(f"servermon: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except redis.RedisError as exc:
        log.warning("Redis unreachable at start (%s); ingest waits until this deployment "
                    "has claimed it", exc)


claim_or_exit()
bind_app(app)


class Background(Middleware):
    """Start the ingest consumer and the periodic loop with the worker, stop them with it."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.consumer: StreamConsumer | None = None
        self.threads: list[threading.Thread] = []

    def _periodic(self) -> None:
        while not self.stopping.wait(EVERY_S):
            lease.keep()
            run_periodic(app)

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping.clear()
        self.consumer = StreamConsumer(app, may_read=lease.held)
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
