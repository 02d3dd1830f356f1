"""Reading the trail in tests: the rows of one action, as they were committed."""

from portal.audit.models import AuditEvent
from portal.extensions import db


def audit_rows(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = db.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query).all()
