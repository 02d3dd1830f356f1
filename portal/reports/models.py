"""The daily digest's outbox: one row per user and day, so each is sent once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class DailyDigest(db.Model):
    """One user's digest of one day, planned before it is sent (portal/reports/digest_outbox.py).

    The unique key is what makes the digest once a day: however many workers plan it, and
    however often, a (user, day) has one row, and a row is claimed (``status`` pending ->
    sending, one guarded UPDATE) before it is sent, with a lease a dead worker's claim runs
    out of. ``day`` is the local date it is sent on; it tells of the day before.
    """

    __tablename__ = "daily_digests"
    __table_args__ = (
        UniqueConstraint("user_id", "day"),
        Index("ix_daily_digests_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    # pending, sending, sent, failed (retries ran out), skipped (no longer wanted or reachable)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
