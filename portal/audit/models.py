"""Audit rows and the head of their chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime
from portal.extensions import db


class AuditEvent(db.Model):
    """One event. Never updated or deleted but by retention, which the head records.

    Who did it is kept as text as well as an id (``actor_name``, ``target_name``), since the
    account or server may be deleted later and the record must still say who and what.
    """

    __tablename__ = "audit_events"

    # Given by the chain, not the database: consecutive, so a deleted row leaves a gap.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user, token, system, anonymous
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(200))
    token_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target_name: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The chain's last row, and where retention cut it.

    Held FOR UPDATE while a row is added, so concurrent events form one chain; without it
    two could name the same previous row. ``last_id``/``last_hash`` also catch rows deleted
    from the end, which no later row's link would reveal.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    purged_through_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                                   default=0)
    purged_through_hash: Mapped[str] = mapped_column(String(64), default="")
