"""Settings staff change at run time, kept in the database (environment holds the rest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class Setting(db.Model):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


def stored_values(*keys: str) -> dict[str, object]:
    """Settings as stored (all of them when no key is named), not yet validated: the one
    read of the table, for settings.service and for auth, which sits below it in the
    layers and checks the few values it reads itself."""
    query = select(Setting.key, Setting.value)
    if keys:
        query = query.where(Setting.key.in_(keys))
    return dict(db.session.execute(query).all())
