"""The outbox: send the planned notifications (portal/notify/planning.py) from the
worker, retry.

Rows are written in the same transaction as the incident change that causes them, and
only then queued; the queue message carries just the row id. Sending claims the row
first (pending -> sending, one UPDATE), so a message delivered twice sends once.

A send is per recipient, not per row: it claims every due row of its channel, recipient and
state at once, and sends them as one message, or holds them to the end of the gathering
window when a message of that kind went to that recipient within it (notify/digest.py).

A claim is a lease of LEASE: a worker that dies mid-send leaves the row ``sending``, and
the sweeper (every 15 s) takes it back once the lease has run out, so its page goes out
again within about 75 s. The lease outlasts the job's time limit (SEND_TIME_LIMIT), so a
live send is never taken over. A failure is retried with capped backoff (BACKOFF_S, then
every MAX_BACKOFF_S, or later when Twilio says so with Retry-After) for
``OUTBOX_RETRY_FOR_S`` (an hour by default) from when the page was planned; only then is
it failed for good, which every admin's bell and the Alerts page show.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal.config import Config
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.jobs.broker import send
from portal.notify.ack_links import ack_url
from portal.notify.chat import ChatSender
from portal.notify.digest import (
    SMS_DIGEST_LIMIT,
    compose_digest,
    follows_a_page,
    gathered,
    hold_until,
    previous_message,
    window_after,
)
from portal.notify.email import EmailSender
from portal.notify.inbox import serialize_user_notification
from portal.notify.messages import Outgoing, with_link
from portal.notify.models import Notification, UserNotification
from portal.notify.planning import ACKABLE, Planned
from portal.notify.rate import wait_s
from portal.notify.recipients import admins
from portal.notify.retry import RetryLater, Undeliverable
from portal.notify.sms import SmsSender
from portal.notify.webhook import WebhookSender
from portal.realtime.publish import publish
from portal.settings.service import load_settings

log = logging.getLogger(__name__)

BACKOFF_S = (10, 30, 90, 270)
MAX_BACKOFF_S = 300
MAX_RETRY_AFTER_S = 3600  # a Retry-After beyond this is Twilio's bug, not a plan
SEND_TIME_LIMIT_S = 45  # the send_notification job's time limit (portal/jobs/actors.py)
LEASE = timedelta(seconds=60)
LOST_AFTER = timedelta(seconds=30)
QUEUE_MARGIN_MS = 50
REQUEUE_WITHIN = timedelta(minutes=10)  # further off, the sweeper will find it in time


class Sender(Protocol):
    """One class per channel (email.py, sms.py, webhook.py, chat.py); adding a channel
    touches its module and SENDERS."""

    channel: str

    def __init__(self, config: Config) -> None: ...

    def send(self, message: Outgoing) -> None: ...


SENDERS: dict[str, type[Sender]] = {"email": EmailSender, "sms": SmsSender,
                                    "webhook": WebhookSender, "chat": ChatSender}
BATCH = 500

def enqueue(notification_id: int, delay_ms: int | None = None) -> bool:
    """Queue one send; False (logged) when Redis is unreachable, for the sweeper to redo."""
    try:
        send("send_notification", notification_id, delay_ms=delay_ms)
        return True
    except Exception as exc:
        log.warning("notification %s not queued (%s); the sweeper will retry", notification_id,
                    exc)
        return False


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    """Bounded IN lists (SQLite caps bound parameters)."""
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def _row_id(row: Planned) -> int:
    """The primary key without reloading a row the commit expired."""
    identity = inspect(row).identity
    return identity[0] if identity else row.id


def dispatch(planned: Iterable[int | Planned]) -> None:
    """After commit: queue the outbox rows, push the bell entries to live clients.

    Takes what ``plan_notifications`` returned, or bare Notification ids. Never raises for
    Redis: after the first failed enqueue the rest are left pending, so an outage costs
    one timeout rather than one per row, and the sweeper queues them later.
    """
    outbox_ids: list[int] = []
    inbox_ids: list[int] = []
    for item in planned:
        if isinstance(item, int):
            outbox_ids.append(item)
        elif isinstance(item, Notification):
            outbox_ids.append(_row_id(item))
        else:
            inbox_ids.append(_row_id(item))
    for position, notification_id in enumerate(outbox_ids):
        if not enqueue(notification_id):
            if len(outbox_ids) > position + 1:
                log.warning("%d more notifications left for the sweeper",
                            len(outbox_ids) - position - 1)
            break
    try:
        for chunk in _chunks(inbox_ids):
            rows = db.session.scalars(select(UserNotification)
                                      .where(UserNotification.id.in_(chunk),
                                             UserNotification.wave_of.is_(None))
                                      .order_by(UserNotification.id))
            for row in rows:  # one joining a wave is counted in it, not announced again
                publish("notification", serialize_user_notification(row))
    except SQLAlchemyError as exc:  # best effort, like publish: the bell reloads on reconnect
        db.session.rollback()
        log.warning("in-app notifications not published: %s", exc)


def _claim(notification_id: int, together: bool) -> tuple[list[Notification], datetime, str]:
    """Claim, in one UPDATE, every due pending row of this row's channel, recipient and
    state (if this one is due), or with ``together`` false this row alone: concurrent
    workers never split a recipient's wave."""
    now, claim = utcnow(), uuid.uuid4().hex
    key = db.session.execute(select(Notification.channel, Notification.recipient,
                                    Notification.state).where(
        Notification.id == notification_id, Notification.status == "pending",
        Notification.next_attempt_at <= now)).first()
    if key is None:
        db.session.commit()
        return [], now, claim
    which = (Notification.channel == key.channel, Notification.recipient == key.recipient,
             Notification.state == key.state) if together else (Notification.id == notification_id,)
    db.session.execute(
        update(Notification)
        .where(*which, Notification.status == "pending", Notification.next_attempt_at <= now)
        .values(status="sending", claimed_at=now, claim=claim)
        .execution_options(synchronize_session=False))
    db.session.commit()
    rows = db.session.scalars(select(Notification).where(Notification.claim == claim)
                              .order_by(Notification.id)).all()
    return list(rows), now, claim


def deliver(notification_id: int) -> str:
    """Send this row's recipient their due rows of its kind, as one message, if they are
    ours to send (the ``send_notification`` job); returns what happened. It never raises
    for a failed send: it schedules its own retries."""
    settings = load_settings()
    rows, now, claim = _claim(notification_id, together=settings.gather_window_s > 0)
    if not rows:
        _requeue_if_early(notification_id, now)
        return "skipped"
    previous = previous_message(rows[0], now, claim)
    window = window_after(previous, rows[0].state, settings.gather_window_s)
    until = hold_until(previous, window, now)
    if until is not None:
        return _hold(rows, until)
    wait = wait_s(rows[0].channel)
    if wait > 0:  # the provider's rate: queue, do not fail (the jitter spreads a crowd)
        _hold(rows, utcnow() + timedelta(seconds=wait + random.uniform(0, 0.1)))  # noqa: S311
        return "throttled"
    message = _message(rows, follows_a_page(previous, window, now), ZoneInfo(settings.timezone))
    waited = gathered(rows, previous, window)
    sender = SENDERS[message.channel](current_app.config["SERVERMON"])
    try:
        sender.send(message)
    except Exception as exc:
        return _failed(rows, exc)
    sent_at = utcnow()
    for row in rows:
        row.status, row.sent_at, row.last_error, row.sent_in = "sent", sent_at, None, message.id
        row.attempts, row.window_s = row.attempts + 1, waited
    db.session.commit()
    return "sent"


def _queue_at(notification_id: int, at: datetime) -> None:
    """Queued to run once ``at`` has passed: rounded up, with a margin, so the job never
    comes a millisecond before its row is due."""
    enqueue(notification_id, delay_ms=max(math.ceil((at - utcnow()).total_seconds() * 1000), 0)
            + QUEUE_MARGIN_MS)


def _requeue_if_early(notification_id: int, now: datetime) -> None:
    """A job that came before its pending row was due (a duplicate, or a clock a little
    ahead) queues it again for then, rather than leave it to the sweeper."""
    due = db.session.scalar(select(Notification.next_attempt_at).where(
        Notification.id == notification_id, Notification.status == "pending"))
    if due is not None and now < due <= now + REQUEUE_WITHIN:
        _queue_at(notification_id, due)


def _hold(rows: Sequence[Notification], until: datetime) -> str:
    """Back to pending until the window ends, and queued for then."""
    for row in rows:
        row.status, row.next_attempt_at, row.claimed_at, row.claim = "pending", until, None, None
    db.session.commit()
    _queue_at(rows[0].id, until)
    return "gathering"


def _message(rows: Sequence[Notification], more: bool, zone: ZoneInfo) -> Outgoing:
    """A single row's message as planned, or one digest of them all."""
    first = rows[0]
    if len(rows) == 1:
        return Outgoing(first.id, first.channel, first.recipient, first.subject, first.body,
                        first.state, (first.incident_id,))
    incidents = db.session.scalars(select(Incident).where(
        Incident.id.in_([row.incident_id for row in rows]))
        .order_by(Incident.started_at, Incident.id)).all()
    link = f"{current_app.config['SERVERMON'].portal_url}/alerts?message={first.id}"
    subject, body, sms = compose_digest(incidents, first.state, zone, link, more=more)
    if first.state in ACKABLE:  # one link acknowledges every incident the digest tells of
        url = ack_url(first.id)
        sms = with_link(sms, url, SMS_DIGEST_LIMIT)
        body = f"{body.rstrip()}\nAcknowledge all {len(incidents)} (works once, no sign-in): {url}\n"
    return Outgoing(first.id, first.channel, first.recipient, subject,
                    sms if first.channel == "sms" else body, first.state,
                    tuple(incident.id for incident in incidents))


def backoff_s(attempts: int, exc: Exception | None = None) -> float:
    """The pause after the ``attempts``-th failure: the schedule, capped, or longer if the
    provider asked for longer."""
    delay = float(BACKOFF_S[attempts - 1] if attempts <= len(BACKOFF_S) else MAX_BACKOFF_S)
    if isinstance(exc, RetryLater):
        delay = max(delay, min(exc.after_s, MAX_RETRY_AFTER_S))
    return delay


def _failed(rows: Sequence[Notification], exc: Exception) -> str:
    """One failed message: its rows retry together, each until its own horizon."""
    now = utcnow()
    error = f"{type(exc).__name__}: {exc}"[:500]
    retry_for = timedelta(seconds=current_app.config["SERVERMON"].outbox_retry_for_s)
    delay = backoff_s(max(row.attempts for row in rows) + 1, exc)
    retry_at = now + timedelta(seconds=delay)
    given_up, retrying = [], []
    for row in rows:
        row.attempts += 1
        row.last_error, row.last_failed_at = error, now
        if isinstance(exc, Undeliverable) or retry_at > row.created_at + retry_for:
            row.status = "failed"
            given_up.append(row)
        else:
            row.status, row.next_attempt_at, row.claimed_at, row.claim = \
                "pending", retry_at, None, None
            retrying.append(row)
    bell = [entry for row in given_up for entry in tell_admins_of_failure(row)]
    db.session.commit()
    for row in given_up:
        log.error("notification %s to %s failed for good after %d attempts: %s", row.id,
                  row.channel, row.attempts, row.last_error)
        publish("notification_failed", {"id": row.id, "incident_id": row.incident_id})
    dispatch(bell)
    if retrying:
        _queue_at(retrying[0].id, retry_at)
    return "retry" if retrying else "failed"


def tell_admins_of_failure(row: Notification) -> list[UserNotification]:
    """One bell entry per active admin and incident (the caller commits)."""
    told = set(db.session.scalars(select(UserNotification.user_id).where(
        UserNotification.incident_id == row.incident_id, UserNotification.state == "failed")))
    entries = []
    for admin in admins():
        if admin.id in told:
            continue
        entry = UserNotification(
            user_id=admin.id, incident_id=row.incident_id, state="failed",
            title=f"A page could not be delivered: {row.subject.removeprefix('[servermon] ')}"[:300],
            body=f"The {row.channel} to {row.recipient} failed for good after {row.attempts} "
                 f"attempts: {row.last_error}")
        db.session.add(entry)
        entries.append(entry)
    db.session.flush()
    return entries


def sweep() -> int:
    """Requeue lost and stuck notifications; returns how many were requeued.

    Stuck: claimed by a worker that died mid-send, its lease run out (back to pending,
    queued at once). Lost: pending and due for LOST_AFTER without being claimed, as when
    Redis dropped the message or was down when it was sent. Queuing twice is harmless: the
    claim sends once.
    """
    now = utcnow()
    stuck_where = (Notification.status == "sending", Notification.claimed_at < now - LEASE)
    stuck = db.session.scalars(select(Notification.id).where(*stuck_where).limit(BATCH)).all()
    if stuck:
        db.session.execute(update(Notification)
                           .where(Notification.id.in_(stuck), *stuck_where)
                           .values(status="pending", next_attempt_at=now))
        log.warning("notifications %s were stuck in sending; requeued", stuck)
    lost = db.session.scalars(select(Notification.id).where(
        Notification.status == "pending", Notification.next_attempt_at < now - LOST_AFTER,
    ).limit(BATCH)).all()
    if lost:  # not again for LOST_AFTER, so a stopped worker does not pile up duplicates
        db.session.execute(update(Notification).where(Notification.id.in_(lost))
                           .values(next_attempt_at=now))
    db.session.commit()
    requeued = [*stuck, *lost]
    for notification_id in requeued:
        if not enqueue(notification_id):
            break
    return len(requeued)
