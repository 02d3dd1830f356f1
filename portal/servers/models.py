"""Registered servers, their labels and their latest known status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

STATUSES = ("up", "down", "unknown", "maintenance")


class Server(db.Model):
    __tablename__ = "servers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    target: Mapped[str] = mapped_column(String(2048))
    interval_s: Mapped[int] = mapped_column(Integer)
    timeout_s: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    down_after: Mapped[int] = mapped_column(Integer, default=2)
    environment: Mapped[str | None] = mapped_column(String(64), index=True)
    group_name: Mapped[str | None] = mapped_column(String(64), index=True)
    description: Mapped[str | None] = mapped_column(Text)

    http_method: Mapped[str] = mapped_column(String(8), default="GET")
    http_accepted_statuses: Mapped[str] = mapped_column(String(200), default="200-399")
    http_keyword: Mapped[str | None] = mapped_column(String(500))
    http_keyword_mode: Mapped[str] = mapped_column(String(8), default="contains")
    http_keyword_regex: Mapped[bool] = mapped_column(Boolean, default=False)
    http_max_latency_ms: Mapped[int | None] = mapped_column(Integer)
    http_follow_redirects: Mapped[bool] = mapped_column(Boolean, default=True)
    tls_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    tcp_tls: Mapped[bool] = mapped_column(Boolean, default=False)
    dns_record_type: Mapped[str] = mapped_column(String(8), default="A")
    dns_expected: Mapped[str | None] = mapped_column(String(500))
    dns_resolver: Mapped[str | None] = mapped_column(String(255))
    # blackbox_exporter's module options (docs/design.md, "Probe options"). The secrets
    # (wire.SECRET_SETTINGS) hold sealed text, ``enc:v1:...`` (wire/secrets.py), never
    # plaintext; http_headers is the sealed JSON of its object.
    http_headers: Mapped[str | None] = mapped_column(Text)
    http_body: Mapped[str | None] = mapped_column(Text)
    http_basic_auth_username: Mapped[str | None] = mapped_column(String(255))
    http_basic_auth_password: Mapped[str | None] = mapped_column(Text)
    http_bearer_token: Mapped[str | None] = mapped_column(Text)
    ip_protocol: Mapped[str] = mapped_column(String(3), default="", server_default="")
    tls_client_cert: Mapped[str | None] = mapped_column(Text)
    tls_client_key: Mapped[str | None] = mapped_column(Text)
    tcp_query_response: Mapped[list | None] = mapped_column(JSON)
    dns_transport: Mapped[str] = mapped_column(String(3), default="udp", server_default="udp")
    dns_answer_regex: Mapped[str | None] = mapped_column(String(500))
    dns_answer_absent_regex: Mapped[str | None] = mapped_column(String(500))

    # Kind "heartbeat" (docs/design.md, "Heartbeat monitors"): the job pings
    # /ping/<key>; the exporter declares it late from this schedule. Either a period or a
    # cron expression (in the timezone setting), each with a grace.
    heartbeat_period_s: Mapped[int | None] = mapped_column(Integer)
    heartbeat_cron: Mapped[str | None] = mapped_column(String(100))
    heartbeat_grace_s: Mapped[int | None] = mapped_column(Integer)
    # When the schedule or the key last changed: a job never pinged since is late from here.
    heartbeat_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ping key: looked up by its SHA-256, shown to server managers from its sealed copy.
    ping_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ping_key_sealed: Mapped[str | None] = mapped_column(Text)

    # Where Prometheus scrapes the server's resources (node_exporter on :9100,
    # windows_exporter on :9182), served through /api/sd/nodes; None: not scraped.
    resources_endpoint: Mapped[str | None] = mapped_column(String(255))
    resources_exporter: Mapped[str] = mapped_column(String(8), default="node",
                                                    server_default="node")

    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The server it cannot be reached without (its switch, host or gateway): while that one
    # is down, this one's outages are recorded but not paged (portal/incidents/dependants.py).
    depends_on_id: Mapped[int | None] = mapped_column(
        ForeignKey("servers.id", ondelete="SET NULL"), index=True
    )
    # Minutes unacknowledged before its critical incidents page tier 2 (twice that: tier
    # 3); None follows the escalate_after_min setting, 0 never escalates.
    escalate_after_min: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner = relationship("User", lazy="selectin")
    labels: Mapped[list[ServerLabel]] = relationship(
        back_populates="server", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ServerLabel.key", lazy="selectin",
    )
    state: Mapped[ServerStatus | None] = relationship(
        back_populates="server", cascade="all, delete-orphan", passive_deletes=True,
        uselist=False, lazy="selectin",
    )

    @property
    def label_map(self) -> dict[str, str]:
        return {label.key: label.value for label in self.labels}


class ServerLabel(db.Model):
    """Free key/value labels; a table rather than JSON so both databases can filter on them."""

    __tablename__ = "server_labels"
    __table_args__ = (UniqueConstraint("server_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[str] = mapped_column(String(255))

    server: Mapped[Server] = relationship(back_populates="labels")


class ServerStatus(db.Model):
    """The latest probe result per server, written as results arrive from the exporter."""

    __tablename__ = "server_status"

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(12), default="unknown", index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    last_checked: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    server: Mapped[Server] = relationship(back_populates="state")


class ServerEvent(db.Model):
    """A state change reported by the exporter: the server's log and its downtime evidence.

    ``event_id`` comes from the exporter, so a message delivered twice is stored once.
    """

    __tablename__ = "server_events"
    __table_args__ = (
        Index("ix_server_events_server_id_at", "server_id", "at"),
        Index("ix_server_events_at", "at"),  # the Logs page: every server's, newest first
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12))
    previous: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(500))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
