"""Each component says it is alive by overwriting its row; the Admin page reads them."""

from __future__ import annotations

from datetime import datetime, timedelta

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.pipeline.models import Heartbeat

# How old a beat may be before its component counts as silent, per component.
FRESH_FOR = {
    "worker": timedelta(minutes=1),         # the periodic loop beats every 15 s
    "reconciler": timedelta(minutes=2),     # runs every 15 s; Alertmanager may be slow
    "watchdog": timedelta(minutes=3),       # Alertmanager repeats it every minute
}
COMPONENTS = tuple(FRESH_FOR)


def beat(name: str, detail: str | None = None, at: datetime | None = None) -> None:
    """Record that ``name`` is alive (the caller commits)."""
    row = db.session.get(Heartbeat, name)
    if row is None:
        row = Heartbeat(name=name)
        db.session.add(row)
    row.seen_at = at or utcnow()
    row.detail = detail[:500] if detail else None


def last_seen(name: str) -> Heartbeat | None:
    return db.session.get(Heartbeat, name)


def health() -> list[dict]:
    """Per component: when it last beat, what it said, and whether that is recent enough."""
    now = utcnow()
    rows = {row.name: row for row in db.session.scalars(db.select(Heartbeat))}
    report = []
    for name in COMPONENTS:
        row = rows.get(name)
        report.append({
            "name": name,
            "seen_at": row.seen_at.isoformat() if row else None,
            "detail": row.detail if row else None,
            "healthy": bool(row and now - row.seen_at <= FRESH_FOR[name]),
        })
    return report
