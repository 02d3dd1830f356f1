"""What heartbeat monitors' jobs told us: every ping, and each job's latest state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

PING_KINDS = ("start", "success", "fail")


class HeartbeatPing(db.Model):
    """One request to /ping/<key>: the server page's "last runs". Pruned to the newest
    ``KEEP_PINGS`` per server; the downtime evidence is the state-change log, not this."""

    __tablename__ = "heartbeat_pings"
    __table_args__ = (Index("ix_heartbeat_pings_server_id_at", "server_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For an ending ping (success or fail) after a start: seconds since that start.
    duration_s: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(45))
    method: Mapped[str] = mapped_column(String(8))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)  # the first 10 KB, as text


class HeartbeatState(db.Model):
    """Each heartbeat server's latest pings, one row, overwritten: what the exporter needs
    to tell on time from late, and what the worker copies into Redis when Redis lost it."""

    __tablename__ = "heartbeat_state"

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    last_ping_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_kind: Mapped[str | None] = mapped_column(String(8))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_fail_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a run under way
    duration_s: Mapped[float | None] = mapped_column(Float)  # the last finished run's
