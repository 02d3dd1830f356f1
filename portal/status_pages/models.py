"""Status pages for customers: which servers they show, under which names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class StatusPage(db.Model):
    __tablename__ = "status_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    show_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    components: Mapped[list[StatusComponent]] = relationship(
        back_populates="page", cascade="all, delete-orphan", order_by="StatusComponent.position")


class StatusComponent(db.Model):
    """One line of a page: a server, or every server a label selector matches."""

    __tablename__ = "status_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column(Integer)
    server_id: Mapped[int | None] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    label_key: Mapped[str | None] = mapped_column(String(64))
    label_value: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    display_group: Mapped[str | None] = mapped_column(String(100))
    page: Mapped[StatusPage] = relationship(back_populates="components")
