"""What became of the e-mails and SMS: the outbox as staff read it (the Alerts page, the
outbox API), per incident and for the ones that failed for good."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from portal.extensions import db
from portal.notify.models import Notification

FAILED_LIMIT = 20


def serialize_delivery(row: Notification) -> dict:
    return {"id": row.id, "incident_id": row.incident_id, "state": row.state,
            "channel": row.channel, "recipient": row.recipient, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error,
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
