"""Acknowledging through the link in a page (portal/notify/ack_links.py): what a link
acknowledges, and doing it once, recorded with who the message was sent to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from portal.audit.service import Target, record
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.incidents.models import Incident
from portal.incidents.serialize import serialize_incident
from portal.incidents.service import audit_acknowledged, mark_acknowledged
from portal.notify.ack_links import read_token
from portal.notify.endpoints import ADDRESS_PREFIX, endpoint_for
from portal.notify.models import Notification
from portal.realtime.publish import publish


@dataclass
class LinkedPage:
    row: Notification
    incidents: list[Incident]

    @property
    def address(self) -> str:
        """Where the message went: the address, or an endpoint's name ("#noc (chat)", not
        ``endpoint:3``)."""
        recipient = self.row.recipient
        endpoint = endpoint_for(recipient) if recipient.startswith(ADDRESS_PREFIX) else None
        return f"{endpoint.name} ({self.row.channel})" if endpoint else recipient

    @property
    def sent_to(self) -> str:
        """Who the message went to: the user's name, or the address."""
        user = db.session.get(User, self.row.user_id) if self.row.user_id else None
        return user.username if user else self.address


def _used() -> APIError:
    return APIError(410, "this acknowledgement link has been used already",
                    {"token": "used"})


def linked_page(token: str) -> LinkedPage:
    """The page a link names and the incidents its message told of; 404 for a link that
    is not ours, 410 for one expired or used."""
    row = db.session.get(Notification, read_token(token))
    if row is None:
        raise APIError(404, "no such acknowledgement link", {"token": "not valid"})
    if row.ack_used_at is not None:
        raise _used()
    # IN, not a DISTINCT join: PostgreSQL cannot compare the JSON labels column.
    carried = list(db.session.scalars(select(Incident).where(Incident.id.in_(
        select(Notification.incident_id).where(Notification.sent_in == row.id)))
        .order_by(Incident.started_at, Incident.id)))
    return LinkedPage(row, carried or [db.session.get(Incident, row.incident_id)])


def acknowledge_by_link(token: str) -> tuple[LinkedPage, list[Incident]]:
    """Acknowledge what the link's message told of that is not acknowledged yet; the link
    works once (a guarded UPDATE: of two clicks at once, one wins)."""
    page = linked_page(token)
    won = db.session.execute(update(Notification).where(
        Notification.id == page.row.id, Notification.ack_used_at.is_(None))
        .values(ack_used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not won:
        db.session.rollback()
        raise _used()
    note = f"from the {page.row.channel} link sent to {page.address}"
    done = [incident for incident in page.incidents if incident.acknowledged_at is None]
    for incident in done:
        mark_acknowledged(incident, page.row.user_id, page.sent_to, note)
    # Audited last: the audit head is the last lock a transaction takes.
    record("ack_link.used", Target("notification", page.row.id, page.sent_to),
           actor_name=f"link sent to {page.sent_to}",
           detail={"channel": page.row.channel, "acknowledged": [i.id for i in done]})
    audit_acknowledged(done, page.sent_to)
    db.session.commit()
    for incident in done:
        publish("incident", serialize_incident(incident))
    return page, done
