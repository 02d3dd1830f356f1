"""The outbox: plan notifications with the incident, send them from the worker, retry.

Rows are written in the same transaction as the incident change that causes them, and
only then queued; the queue message carries just the row id. Sending claims the row
first (pending -> sending, one UPDATE), so a message delivered twice sends once.

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
from collections.abc import Iterable
from datetime import timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal.config import Config
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.jobs.broker import send
from portal.notify.email import EmailSender
from portal.notify.inbox import serialize_user_notification
from portal.notify.messages import compose
from portal.notify.models import Notification, UserNotification
from portal.notify.recipients import admins, in_app, paged
from portal.notify.retry import RetryLater
from portal.notify.sms import SmsSender
from portal.realtime.publish import publish
from portal.settings.service import load_settings

log = logging.getLogger(__name__)

BACKOFF_S = (10, 30, 90, 270)
MAX_BACKOFF_S = 300
MAX_RETRY_AFTER_S = 3600  # a Retry-After beyond this is Twilio's bug, not a plan
SEND_TIME_LIMIT_S = 45  # the send_notification job's time limit (portal/jobs/actors.py)
LEASE = timedelta(seconds=60)
LOST_AFTER = timedelta(seconds=30)


class Sender(Protocol):
    """One class per channel (email.py, sms.py); adding a channel touches one place."""

    channel: str

    def __init__(self, config: Config) -> None: ...

    def send(self, notification: Notification) -> None: ...


SENDERS: dict[str, type[Sender]] = {"email": EmailSender, "sms": SmsSender}
BATCH = 500

State = Literal["firing", "flapping", "resolved"]
Planned = Notification | UserNotification


def plan_notifications(incident: Incident, state: State) -> list[Planned]:
    """Add the messages this change causes to the session (the caller commits).

    Returns the outbox rows and the in-app rows, for ``dispatch`` after the commit. Rows
    that already exist for this incident and state are skipped, so a redelivered webhook
    plans nothing twice.
    """
    settings = load_settings()
    silent = state == "resolved" and not settings.notify_on_resolve
    recipients = [] if silent else paged(incident, settings)
    db.session.flush()  # the incident needs its id
    message = compose(incident, state, ZoneInfo(settings.timezone),
                      current_app.config["SERVERMON"].portal_url)
    existing = set(db.session.execute(select(Notification.channel, Notification.recipient).where(
        Notification.incident_id == incident.id, Notification.state == state)).all())
    planned: list[Planned] = []
    for recipient in recipients:
        if (recipient.channel, recipient.address) in existing:
            continue
        row = Notification(incident_id=incident.id, state=state, channel=recipient.channel,
                           recipient=recipient.address, user_id=recipient.user_id,
                           subject=message.subject,
                           body=message.sms if recipient.channel == "sms" else message.body,
                           next_attempt_at=utcnow())
        db.session.add(row)
        planned.append(row)
    notified = set(db.session.scalars(select(UserNotification.user_id).where(
        UserNotification.incident_id == incident.id, UserNotification.state == state)))
    for user in in_app(incident):
        if user.id not in notified:
            row = UserNotification(user_id=user.id, incident_id=incident.id, state=state,
                                   title=message.subject.removeprefix("[servermon] "),
                                   body=message.body)
            db.session.add(row)
            planned.append(row)
    db.session.flush()
    return planned


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
                                      .where(UserNotification.id.in_(chunk))
                                      .order_by(UserNotification.id))
            for row in rows:
                publish("notification", serialize_user_notification(row))
    except SQLAlchemyError as exc:  # best effort, like publish: the bell reloads on reconnect
        db.session.rollback()
        log.warning("in-app notifications not published: %s", exc)


def _claim(notification_id: int) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "pending",
               Notification.next_attempt_at <= now)
        .values(status="sending", claimed_at=now)
    ).rowcount
    db.session.commit()
    return claimed == 1


def deliver(notification_id: int) -> str:
    """Send one notification if it is ours to send (the ``send_notification`` job); returns
    what happened. It never raises for a failed send: it schedules its own retries."""
    if not _claim(notification_id):
        return "skipped"
    row = db.session.get(Notification, notification_id)
    sender = SENDERS[row.channel](current_app.config["SERVERMON"])
    try:
        sender.send(row)
    except Exception as exc:
        return _failed(row, exc)
    row.status, row.sent_at, row.last_error = "sent", utcnow(), None
    row.attempts += 1
    db.session.commit()
    return "sent"


def backoff_s(attempts: int, exc: Exception | None = None) -> float:
    """The pause after the ``attempts``-th failure: the schedule, capped, or longer if the
    provider asked for longer."""
    delay = float(BACKOFF_S[attempts - 1] if attempts <= len(BACKOFF_S) else MAX_BACKOFF_S)
    if isinstance(exc, RetryLater):
        delay = max(delay, min(exc.after_s, MAX_RETRY_AFTER_S))
    return delay


def _failed(row: Notification, exc: Exception) -> str:
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:500]
    now = utcnow()
    delay = backoff_s(row.attempts, exc)
    give_up_at = row.created_at + timedelta(
        seconds=current_app.config["SERVERMON"].outbox_retry_for_s)
    if now + timedelta(seconds=delay) > give_up_at:
        row.status = "failed"
        bell = tell_admins_of_failure(row)
        db.session.commit()
        log.error("notification %s to %s failed for good after %d attempts: %s", row.id,
                  row.channel, row.attempts, row.last_error)
        publish("notification_failed", {"id": row.id, "incident_id": row.incident_id})
        dispatch(bell)
        return "failed"
    row.status, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
    db.session.commit()
    enqueue(row.id, delay_ms=int(delay * 1000))
    return "retry"


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
