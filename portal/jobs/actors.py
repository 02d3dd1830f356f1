"""Every job the worker runs, listed once: its name, the plain function it calls, and its
retry policy. Adding a job is one line here and a function in its area's service module.

A job gets only ids: the rows are the truth, so a job queued twice or run late reads what
is true when it runs. Each runs inside the app bound for the worker, with its database
session closed afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from dramatiq.brokers.redis import RedisBroker
from flask import Flask

from portal.extensions import db
from portal.grafana import annotate_incident
from portal.jobs.broker import declare, make_broker
from portal.notify.account_notices import send_account_notice
from portal.notify.outbox import SEND_TIME_LIMIT_S, deliver
from portal.reports import digest_outbox


@dataclass(frozen=True)
class Job:
    function: Callable[..., object]
    options: dict = field(default_factory=dict)


JOBS = {
    # deliver() schedules its own retries with backoff (notify.outbox): dramatiq's are off.
    # The time limit stays inside the claim's lease, so a live send is never taken over.
    "send_notification": Job(deliver, {"max_retries": 0,
                                       "time_limit": SEND_TIME_LIMIT_S * 1000}),
    # Grafana annotations: retried by dramatiq while Grafana fails, for about half an hour.
    "push_annotation": Job(annotate_incident, {"max_retries": 8, "min_backoff": 5_000,
                                               "max_backoff": 300_000, "time_limit": 30_000}),
    # The owner's notice of failed sign-ins: retried by dramatiq while SMTP fails.
    "send_account_notice": Job(send_account_notice, {"max_retries": 5, "min_backoff": 10_000,
                                                     "max_backoff": 300_000,
                                                     "time_limit": 30_000}),
    # The daily digest: like a page, it schedules its own retries (reports.digest_outbox),
    # and its time limit stays inside the claim's lease.
    digest_outbox.JOB: Job(digest_outbox.deliver_digest, {
        "max_retries": 0, "time_limit": digest_outbox.SEND_TIME_LIMIT_S * 1000}),
}

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """The app whose context jobs run in (the worker binds the one it built)."""
    global _app
    _app = app


def _in_app(function: Callable[..., object]) -> Callable[..., None]:
    @wraps(function)
    def run(*args: object) -> None:
        if _app is None:
            raise RuntimeError("no app bound for the worker; portal.jobs.worker binds one")
        with _app.app_context():
            try:
                function(*args)
            finally:
                db.session.remove()

    return run


def setup_jobs(redis_url: str) -> RedisBroker:
    """Make the process's broker on ``redis_url`` and declare every job on it."""
    broker = make_broker(redis_url)
    for name, job in JOBS.items():
        declare(broker, name, _in_app(job.function), job.options)
    return broker
