"""Sending the daily digest: once per user and day, by the worker, whatever happens to it.

The worker's 15 s sweep (``sweep_digests``) plans the day's rows once ``digest_hour`` has
begun in the configured zone: one row per opted-in user and local day, inserted with "on
conflict do nothing" on the unique (user, day), so several workers, or one restarted,
plan each digest once. Each row is then sent by the ``send_daily_digest`` job, which
claims it first (pending -> sending, one guarded UPDATE): a job queued twice, or run by
two workers, sends once. A claim is a lease of LEASE, longer than the job's time limit: a
worker that dies mid-send leaves the row ``sending`` and the sweep takes it back once the
lease has run out, so the digest is not lost (it may, like a page, go twice if the worker
died after the relay took it and before the row was marked). A failed send is retried on
the outbox's schedule (10, 30, 90, 270 s, then every 300 s) for ``OUTBOX_RETRY_FOR_S``
from when the row was planned, then ``failed``; the e-mail rate (EMAIL_PER_MINUTE) holds
digests as it holds pages.

Without SMTP_HOST nothing is planned, as for pages. A user who is disabled, has no
e-mail, or no longer wants it when the row comes to be sent gets nothing (``skipped``).
No day is made up later: a worker that was down the whole day sends none for it.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.jobs.broker import send
from portal.notify.email import EmailSender
from portal.notify.messages import Outgoing
from portal.notify.outbox import backoff_s
from portal.notify.rate import wait_s
from portal.reports.digest import build_digest
from portal.reports.digest_render import render
from portal.reports.models import DailyDigest
from portal.settings.service import load_settings

log = logging.getLogger(__name__)

JOB = "send_daily_digest"
SEND_TIME_LIMIT_S = 45  # the job's time limit (portal/jobs/actors.py), inside the lease
LEASE = timedelta(seconds=60)
LOST_AFTER = timedelta(seconds=30)
QUEUE_MARGIN_MS = 50
BATCH = 500


def wants_digest(user: User | None) -> bool:
    """Who gets one: an active account that opted in, with an address, and whose role
    may see what it tells (the Alerts)."""
    return (user is not None and user.is_active and user.daily_digest and bool(user.email)
            and user.can("alerts.view"))


def digest_day(now: datetime | None = None) -> date | None:
    """Today's local date once ``digest_hour`` has begun in the configured zone, or None
    before it (nothing is planned then) and when the worker has no SMTP relay."""
    if not current_app.config["SERVERMON"].smtp_host:
        return None
    settings = load_settings()
    local = (now or utcnow()).astimezone(ZoneInfo(settings.timezone))
    return local.date() if local.hour >= settings.digest_hour else None


def plan_digests(now: datetime | None = None) -> list[int]:
    """Today's rows for the users who have none yet; their ids (the caller queues them)."""
    day = digest_day(now)
    if day is None:
        return []
    planned = select(DailyDigest.id).where(DailyDigest.user_id == User.id,
                                           DailyDigest.day == day).exists()
    users = db.session.scalars(select(User).where(
        User.daily_digest.is_(True), User.is_active.is_(True), User.email != "", ~planned)).all()
    ids = [row_id for row_id in (_insert(user.id, day) for user in users if wants_digest(user))
           if row_id is not None]
    db.session.commit()
    return ids


def _insert(user_id: int, day: date) -> int | None:
    """One row, unless another worker planned it first (then None)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    statement = dialect.insert(DailyDigest).values(
        user_id=user_id, day=day, status="pending", attempts=0, next_attempt_at=now,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["user_id", "day"]).returning(DailyDigest.id)
    return db.session.execute(statement).scalar()


def enqueue(digest_id: int, delay_ms: int | None = None) -> bool:
    """Queue one send; False (logged) when Redis is unreachable, for the sweep to redo."""
    try:
        send(JOB, digest_id, delay_ms=delay_ms)
        return True
    except Exception as exc:
        log.warning("daily digest %s not queued (%s); the sweep will retry", digest_id, exc)
        return False


def _queue_at(digest_id: int, at: datetime) -> None:
    delay = max(math.ceil((at - utcnow()).total_seconds() * 1000), 0) + QUEUE_MARGIN_MS
    enqueue(digest_id, delay_ms=delay)


def sweep_digests(now: datetime | None = None) -> int:
    """The worker's periodic pass: plan today's digests, take back rows a dead worker
    left ``sending`` past their lease, and queue again pending rows due for LOST_AFTER
    (a message Redis dropped); returns how many were queued. Queuing twice is harmless:
    the claim sends once."""
    planned = plan_digests(now)
    now = utcnow()
    stuck_where = (DailyDigest.status == "sending", DailyDigest.claimed_at < now - LEASE)
    stuck = db.session.scalars(select(DailyDigest.id).where(*stuck_where).limit(BATCH)).all()
    if stuck:
        db.session.execute(update(DailyDigest).where(DailyDigest.id.in_(stuck), *stuck_where)
                           .values(status="pending", next_attempt_at=now, claim=None))
        log.warning("daily digests %s were stuck in sending; requeued", stuck)
    lost = db.session.scalars(select(DailyDigest.id).where(
        DailyDigest.status == "pending", DailyDigest.next_attempt_at < now - LOST_AFTER,
        DailyDigest.id.not_in(planned or [0])).limit(BATCH)).all()
    if lost:  # not again for LOST_AFTER, so a stopped worker does not pile up duplicates
        db.session.execute(update(DailyDigest).where(DailyDigest.id.in_(lost))
                           .values(next_attempt_at=now))
    db.session.commit()
    queued = [*planned, *stuck, *lost]
    for digest_id in queued:
        if not enqueue(digest_id):
            break
    return len(queued)


def _claim(digest_id: int) -> DailyDigest | None:
    now, claim = utcnow(), uuid.uuid4().hex
    claimed = db.session.execute(
        update(DailyDigest)
        .where(DailyDigest.id == digest_id, DailyDigest.status == "pending",
               DailyDigest.next_attempt_at <= now)
        .values(status="sending", claimed_at=now, claim=claim)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return None
    return db.session.scalar(select(DailyDigest).where(DailyDigest.id == digest_id,
                                                       DailyDigest.claim == claim))


def deliver_digest(digest_id: int) -> str:
    """The ``send_daily_digest`` job: send this row's digest if it is ours to send; returns
    what happened. Never raises for a failed send: it schedules its own retry."""
    row = _claim(digest_id)
    if row is None:
        return "skipped"
    user = db.session.get(User, row.user_id)
    if not wants_digest(user):
        row.status, row.claim, row.last_error = "skipped", None, "no longer wanted or reachable"
        db.session.commit()
        return "skipped"
    wait = wait_s("email")
    if wait > 0:  # the relay's rate: wait in the table, do not fail
        return _hold(row, utcnow() + timedelta(seconds=wait + random.uniform(0, 0.1)))  # noqa: S311
    config = current_app.config["SERVERMON"]
    try:
        rendered = render(build_digest(row.day, ZoneInfo(load_settings().timezone)),
                          config.portal_url)
        EmailSender(config).send(Outgoing(row.id, "email", user.email, rendered.subject,
                                          rendered.text, html=rendered.html))
    except Exception as exc:
        db.session.rollback()
        return _failed(row, exc)
    row.status, row.sent_at, row.last_error, row.claim = "sent", utcnow(), None, None
    row.attempts += 1
    db.session.commit()
    return "sent"


def _hold(row: DailyDigest, until: datetime) -> str:
    row.status, row.next_attempt_at, row.claimed_at, row.claim = "pending", until, None, None
    db.session.commit()
    _queue_at(row.id, until)
    return "throttled"


def _failed(row: DailyDigest, exc: Exception) -> str:
    """Retried on the outbox's backoff until OUTBOX_RETRY_FOR_S after it was planned."""
    now = utcnow()
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:500]
    retry_at = now + timedelta(seconds=backoff_s(row.attempts))
    retry_for = timedelta(seconds=current_app.config["SERVERMON"].outbox_retry_for_s)
    if retry_at > row.created_at + retry_for:
        row.status, row.claim = "failed", None
        db.session.commit()
        log.error("daily digest %s of %s for user %s failed for good after %d attempts: %s",
                  row.id, row.day, row.user_id, row.attempts, row.last_error)
        return "failed"
    row.status, row.next_attempt_at, row.claimed_at, row.claim = "pending", retry_at, None, None
    db.session.commit()
    log.warning("daily digest %s failed (%s); retrying in %.0f s", row.id, row.last_error,
                (retry_at - now).total_seconds())
    _queue_at(row.id, retry_at)
    return "retry"
