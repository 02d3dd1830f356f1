"""Incidents from Alertmanager and the maintenance windows that excuse downtime."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

# The alert whose firing time counts as downtime; the others are warnings about a server.
DOWNTIME_ALERT = "ServerDown"


class Incident(db.Model):
    """One firing of one alert, identified as Alertmanager does: fingerprint plus start.

    ``started_at``/``ended_at`` come from the exporter's state changes where there are
    some, so the recorded downtime matches the outage to within one probe interval
    rather than the moment the rule fired.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("fingerprint", "alert_started_at"),
        Index("ix_incidents_server_id_started_at", "server_id", "started_at"),
        # At most one open incident per server and alert, whichever process writes it.
        Index("uq_incidents_open_per_server_alert", "server_id", "alertname", unique=True,
              postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
        # Without a server (the monitoring's own, and those the portal raises, which two
        # worker processes may raise at once): at most one open per alert and fingerprint.
        Index("uq_incidents_open_unattached", "alertname", "fingerprint", unique=True,
              postgresql_where=text("ended_at IS NULL AND server_id IS NULL"),
              sqlite_where=text("ended_at IS NULL AND server_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    alert_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alertname: Mapped[str] = mapped_column(String(100), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    server_id: Mapped[int | None] = mapped_column(ForeignKey("servers.id", ondelete="SET NULL"))
    server_name: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500))
    labels: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    in_maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set while the server flaps: the incident then spans the flapping period
    # (portal/incidents/flapping.py) and closes only once the server has settled.
    flapping_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Dependants (portal/incidents/dependants.py): the down server this one depends on, by
    # name, when its outage was not paged for that; and until when its DOWN pages wait to
    # see whether that server is down too (None once they are planned or suppressed).
    suppressed_by: Mapped[str | None] = mapped_column(String(100))
    pages_held_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    acknowledged_by_name: Mapped[str | None] = mapped_column(String(64))
    ack_note: Mapped[str | None] = mapped_column(String(1000))
    grafana_annotation_id: Mapped[int | None] = mapped_column(Integer)
    # Open when a maintenance window covering its server began (or already in force when
    # the worker looked): since when, and which window; cleared once no window covers it
    # (portal/incidents/maintenance_marks.py).
    maintenance_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    maintenance_window_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_windows.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    server = relationship("Server")

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def is_downtime(self) -> bool:
        return self.alertname == DOWNTIME_ALERT

    @property
    def duration_s(self) -> float:
        """How long it lasted, or has lasted so far."""
        return ((self.ended_at or utcnow()) - self.started_at).total_seconds()


class MaintenanceWindow(db.Model):
    """Planned work on one server or on every server carrying a label.

    Alerts are silenced in Alertmanager for the window; downtime inside it stays in the
    history but is left out of availability figures. An occurrence of a recurring
    schedule is an ordinary window that names its schedule; the unique key lets two
    workers planning the same occurrence at once make one row.
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (
        UniqueConstraint("schedule_id", "schedule_revision", "starts_at",
                         name="uq_maintenance_windows_occurrence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int | None] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), index=True
    )
    label_key: Mapped[str | None] = mapped_column(String(64))
    label_value: Mapped[str | None] = mapped_column(String(255))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    silence_id: Mapped[str | None] = mapped_column(String(64))
    silence_error: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_schedules.id", ondelete="SET NULL"), index=True
    )
    # The schedule's revision this occurrence was planned from: an edit starts a new one,
    # so the occurrences it replaces (cancelled) never block those it plans.
    schedule_revision: Mapped[int | None] = mapped_column(Integer)
    # When the worker saw the window begin and republished its servers' live status.
    began_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    server = relationship("Server")
    schedule = relationship("MaintenanceSchedule")


class MaintenanceSchedule(db.Model):
    """Recurring maintenance: weekly days at a time, or a cron expression, in the portal's
    configured zone, each occurrence lasting ``duration_min``. The worker turns the
    occurrences of the next day (and at least the next one) into windows ahead of time
    (portal/incidents/recurring.py)."""

    __tablename__ = "maintenance_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int | None] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), index=True
    )
    label_key: Mapped[str | None] = mapped_column(String(64))
    label_value: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(8))  # weekly or cron
    weekdays: Mapped[str | None] = mapped_column(String(32))  # "MON,WED" (weekly)
    start_time: Mapped[str | None] = mapped_column(String(5))  # "02:30" (weekly)
    cron: Mapped[str | None] = mapped_column(String(120))
    duration_min: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # Occurrences start no earlier than this: when the schedule was made or last edited.
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    server = relationship("Server")
