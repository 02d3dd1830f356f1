"""What became of the e-mails and SMS: the outbox as staff read it (the Alerts page, the
outbox API), per incident and for the ones that failed for good."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from portal.extensions import db
from portal.notify.models import Notification

FAILED_LIMIT = 20


CONTACTS_PERMISSION = "logs.view"  # who may read staff addresses (as the server contacts)


def masked(channel: str, recipient: str) -> str:
    """Enough to tell recipients apart, not to reach them: ``i***@bank.example``,
    ``+256***01``. An endpoint's name (``endpoint:3``) is no address and stays."""
    if channel == "email" and "@" in recipient:
        local, _, domain = recipient.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if channel == "sms":
        return f"{recipient[:4]}***{recipient[-2:]}" if len(recipient) > 8 else "***"
    return recipient


def visible(row: Notification, full: bool) -> tuple[str, str | None]:
    """The recipient and last error as a reader may see them: an SMTP or Twilio error
    quotes the address, so it is masked there too."""
    if full:
        return row.recipient, row.last_error
    hidden = masked(row.channel, row.recipient)
    error = row.last_error.replace(row.recipient, hidden) if row.last_error else None
    return hidden, error


def serialize_delivery(row: Notification, full: bool) -> dict:
    recipient, error = visible(row, full)
    return {"id": row.id, "incident_id": row.incident_id, "state": row.state,
            "channel": row.channel, "recipient": recipient, "status": row.status,
            "attempts": row.attempts, "last_error": error,
            "created_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None}


def delivery_query(status: str | None = None, incident_id: int | None = None) -> Select:
    """Outbox rows, newest first."""
    query = select(Notification).order_by(Notification.id.desc())
    if status:
        query = query.where(Notification.status == status)
    if incident_id is not None:
        query = query.where(Notification.incident_id == incident_id)
    return query


def delivery_counts(incident_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per incident, how many e-mails and SMS were sent, are still on their way, or failed."""
    counts = {incident_id: {"sent": 0, "pending": 0, "failed": 0} for incident_id in incident_ids}
    if incident_ids:
        rows = db.session.execute(
            select(Notification.incident_id, Notification.status, func.count(Notification.id))
            .where(Notification.incident_id.in_(incident_ids))
            .group_by(Notification.incident_id, Notification.status))
        for incident_id, status, count in rows:
            key = status if status in ("sent", "failed") else "pending"  # sending is pending
            counts[incident_id][key] += count
    return counts


def failed_deliveries() -> tuple[list[Notification], int]:
    """The newest messages that failed for good, and how many did in all."""
    failed = Notification.status == "failed"
    rows = db.session.scalars(select(Notification).where(failed)
                              .order_by(Notification.id.desc()).limit(FAILED_LIMIT)).all()
    total = db.session.scalar(select(func.count(Notification.id)).where(failed))
    return list(rows), total
