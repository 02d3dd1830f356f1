"""When each part of the pipeline last showed it was alive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime
from portal.extensions import db


class Heartbeat(db.Model):
    """One row per component (``worker``, ``watchdog``, ``reconciler``...), overwritten.

    In the database, not Redis: losing Redis must not look like a silent Alertmanager.
    """

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(String(500))
