"""Planning pages: which messages an incident's change causes, to whom, written to the
outbox (and the bell) in the same transaction as the change; portal/notify/outbox.py
sends them.

Pages that ask for action (DOWN, FLAPPING, ESCALATED) carry each recipient's own
acknowledgement link (portal/notify/ack_links.py); the bell's entries of one storm join
one wave (portal/notify/inbox.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.ack_links import ack_url
from portal.notify.inbox import wave_leaders
from portal.notify.messages import compose, with_link
from portal.notify.models import Notification, UserNotification
from portal.notify.recipients import Recipient, in_app, paged
from portal.settings.service import load_settings

State = Literal["firing", "flapping", "resolved", "tier2", "tier3"]
ESCALATIONS = ("tier2", "tier3")
ACKABLE = ("firing", "flapping", *ESCALATIONS)  # pages that ask someone to act
Planned = Notification | UserNotification


def plan_notifications(incident: Incident, state: State, *, page: bool = True,
                       note: str | None = None, sms_note: str | None = None) -> list[Planned]:
    """Add the messages this change causes to the session (the caller commits).

    Returns the outbox rows and the in-app rows, for ``dispatch`` after the commit. Rows
    that already exist for this incident and state are skipped, so a redelivered webhook
    plans nothing twice. ``page`` false plans the bell's entries only (an outage not paged
    for its dependency); ``note`` and ``sms_note`` are added to what the messages say.
    ``tier2`` and ``tier3`` page that escalation tier; a resolution also reaches whoever an
    escalation paged. Pages that ask for action carry an acknowledgement link.
    """
    settings = load_settings()
    silent = not page or (state == "resolved" and not settings.notify_on_resolve)
    tier = int(state[-1]) if state in ESCALATIONS else 1
    recipients = [] if silent else paged(incident, settings, tier)
    db.session.flush()  # the incident needs its id
    if state == "resolved" and recipients:
        recipients = list({(r.channel, r.address.lower()): r
                           for r in [*escalated_to(incident), *recipients]}.values())
    message = compose(incident, state, ZoneInfo(settings.timezone),
                      current_app.config["SERVERMON"].portal_url, note=note, sms_note=sms_note)
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
    if state in ACKABLE:
        db.session.flush()  # the rows need their ids for their links
        for row in planned:
            _add_ack_link(row, message.body)
    notified = set(db.session.scalars(select(UserNotification.user_id).where(
        UserNotification.incident_id == incident.id, UserNotification.state == state)))
    users = [user for user in in_app(incident) if user.id not in notified]
    window = settings.gather_window_s
    leaders = wave_leaders([user.id for user in users], state,
                           utcnow() - timedelta(seconds=window)) if window > 0 else {}
    for user in users:
        row = UserNotification(user_id=user.id, incident_id=incident.id, state=state,
                               title=message.subject.removeprefix("[servermon] "),
                               body=message.body, wave_of=leaders.get(user.id))
        db.session.add(row)
        planned.append(row)
    db.session.flush()
    return planned


def escalated_to(incident: Incident) -> list[Recipient]:
    """Whoever an escalation of this incident paged (they hear how it ended too)."""
    rows = db.session.execute(select(Notification.channel, Notification.recipient,
                                     Notification.user_id).distinct().where(
        Notification.incident_id == incident.id, Notification.state.in_(ESCALATIONS))).all()
    return [Recipient(row.channel, row.recipient, row.user_id) for row in rows]


def _add_ack_link(row: Notification, body: str) -> None:
    """This recipient's own link: in the e-mail under the details, in the SMS instead of
    them (its page shows what it acknowledges and links to the details)."""
    url = ack_url(row.id)
    if row.channel == "sms":
        row.body = with_link(row.body, url)
    else:
        row.body = f"{body.rstrip()}\nAcknowledge (works once, no sign-in): {url}\n"
