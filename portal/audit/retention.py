"""When retention runs: once the oldest row is a day past the retention, not at every pass.

The worker asks every 15 s. Purging whatever aged past the cutoff since the last pass
would delete a handful of rows each time and record an "audit.purged" event for each
purge, thousands a day, burying the trail in its own housekeeping. Waiting until the oldest
row is a day overdue makes it one purge (and one record) a day; every row is kept at least
the retention and at most a day longer. Asking costs one query on the indexed time column
and takes no lock; only a purge holds the chain's head.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.audit.service import purge
from portal.dbtypes import utcnow
from portal.extensions import db

SLACK = timedelta(days=1)


def purge_overdue(retention_days: int, now: datetime | None = None) -> int:
    """Purge (see ``service.purge``) when the oldest row is ``SLACK`` past the retention;
    the number of rows deleted. The caller commits."""
    now = now or utcnow()
    oldest = db.session.scalar(select(func.min(AuditEvent.at)))
    if oldest is None or oldest >= now - timedelta(days=retention_days) - SLACK:
        return 0
    return purge(retention_days, now)
