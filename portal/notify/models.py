"""The notification outbox, in-app notifications, and extra contacts per server."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class Notification(db.Model):
    """One message to one recipient, recorded before it is sent.

    The unique key makes planning idempotent (a redelivered webhook plans nothing new),
    and the status column is claimed atomically before sending, so one row is sent once
    even if its queue message is delivered twice. Rows are the record per incident; a
    message may carry several (a storm digest, ``sent_in``).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("incident_id", "state", "channel", "recipient"),
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"),
                                             index=True)
    state: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # kept once sent
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The send that holds it (a token): one claim takes a recipient's due rows of a kind.
    claim: Mapped[str | None] = mapped_column(String(32), index=True)
    # The row whose message carried it: its own id, or a digest's first row's.
    sent_in: Mapped[int | None] = mapped_column(Integer, index=True)
    # The gathering window its message waited out (0: it went at once); the next message
    # of its kind to its recipient waits twice as long (portal/notify/digest.py).
    window_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the acknowledgement link in its message was used (once; notify/ack_links.py).
    ack_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserNotification(db.Model):
    """An entry in a user's notification centre (the bell)."""

    __tablename__ = "user_notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "incident_id", "state"),
        Index("ix_user_notifications_user_id_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first entry of the wave this one joined (portal/notify/inbox.py): the bell shows
    # a wave as that one entry, with a count; None for an entry that is its own.
    wave_of: Mapped[int | None] = mapped_column(Integer, index=True)


class ServerContact(db.Model):
    """Someone to page for one server in addition to the roles paged by default.

    A contact with neither an e-mail address nor a phone number could never be reached;
    the database refuses one, whichever code path writes it.
    """

    __tablename__ = "server_contacts"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="reachable"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    # 1: paged with the roles; 2 or 3: paged when an incident escalates to that tier.
    tier: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationEndpoint(db.Model):
    """A machine paged like a person: a generic webhook (JSON, signed with HMAC) or a chat
    channel's incoming webhook (Slack, Microsoft Teams). Paged for every critical incident
    at its tier, as the roles are; the outbox names it ``endpoint:<id>``, so the URL, which
    for a chat webhook is itself a secret, never shows in the outbox's listing."""

    __tablename__ = "notification_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # a channel: "webhook" or "chat"
    url: Mapped[str] = mapped_column(String(2048))
    tier: Mapped[int] = mapped_column(Integer, default=1)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
