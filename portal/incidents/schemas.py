"""What the incident and maintenance endpoints accept, and Alertmanager's webhook payload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from portal.dbtypes import utcnow
from portal.incidents.recurrence import (
    WEEKDAYS,
    cron_problem,
    spacing_problem,
    weekly_expression,
)
from portal.schemas import DbId, Line, PageQuery, Strict
from portal.servers.schemas import check_scope, label_selector

MAX_WINDOW = timedelta(days=31)
START_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
SEVERITIES = ("critical", "warning")


FUTURE_SLACK = timedelta(days=1)  # clocks differ; a day ahead is no clock, it is bad data


class AlertIn(BaseModel):
    """One alert. Times carry their offset (Alertmanager's always do: a bare time could be
    any zone's) and are not in the future; a firing alert's ``endsAt`` is only when
    Prometheus would let it lapse, so it is dropped, as is Alertmanager's zero time."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: AwareDatetime
    endsAt: AwareDatetime | None = None
    fingerprint: str = Field(min_length=1, max_length=64)

    @field_validator("startsAt")
    @classmethod
    def _started(cls, value: datetime) -> datetime:
        if value > utcnow() + FUTURE_SLACK:
            raise ValueError("is in the future")
        return value

    @field_validator("endsAt")
    @classmethod
    def _ended(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None or info.data.get("status") != "resolved" or value.year < 1970:
            return None
        if value > utcnow() + FUTURE_SLACK:
            raise ValueError("is in the future")
        return value


class WebhookIn(BaseModel):
    """Alertmanager's webhook payload, version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str
    alerts: list[AlertIn] = Field(max_length=1000)


class IncidentQuery(PageQuery):
    server_id: DbId | None = None
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    state: Literal["open", "resolved"] | None = None
    alertname: Line | None = Field(None, max_length=100)
    severity: Literal[SEVERITIES] | None = None  # type: ignore[valid-type]
    # The incidents one message told of (a storm digest's link): its first outbox row's id.
    message: DbId | None = None
    # The incidents one bell entry stands for (a wave's link): the wave's first entry's id.
    wave: DbId | None = None


class AckIn(Strict):
    note: str = Field("", max_length=1000)


class WindowIn(Strict):
    server_id: DbId | None = None
    label: Line | None = Field(None, max_length=300, description="key=value")
    starts_at: datetime
    ends_at: datetime
    reason: Line = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _checks(self) -> WindowIn:
        check_scope(self.server_id, self.label)
        for name in ("starts_at", "ends_at"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name}: needs a UTC offset, e.g. 2026-01-31T22:00:00+03:00")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at: must be after starts_at")
        if self.ends_at - self.starts_at > MAX_WINDOW:
            raise ValueError("ends_at: a window may last at most 31 days")
        return self


class WindowQuery(PageQuery):
    active: bool | None = None
    server_id: DbId | None = None


class ScheduleIn(Strict):
    """A recurring window. Each field's check runs on its own (the cross-field ones use the
    fields before them), so every problem is reported at once."""

    server_id: DbId | None = None
    label: Line | None = Field(None, max_length=300, description="key=value",
                               validate_default=True)
    reason: Line = Field(min_length=1, max_length=500)
    kind: Literal["weekly", "cron"]
    weekdays: list[Literal[WEEKDAYS]] | None = Field(  # type: ignore[valid-type]
        None, max_length=7, validate_default=True)
    start_time: str | None = Field(None, pattern=START_TIME, description="HH:MM",
                                   validate_default=True)
    cron: Line | None = Field(None, max_length=120, validate_default=True)
    duration_min: int = Field(ge=5, le=int(MAX_WINDOW.total_seconds() // 60))

    @field_validator("label")
    @classmethod
    def _scope(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "server_id" in info.data and (info.data["server_id"] is None) == (value is None):
            raise ValueError("give either server_id or label, not both")
        if value is not None:
            label_selector(value)
        return value

    @field_validator("weekdays", "start_time")
    @classmethod
    def _weekly(cls, value: object, info: ValidationInfo) -> object:
        if info.data.get("kind") == "weekly" and not value:
            raise ValueError("needed for a weekly schedule" if info.field_name == "start_time"
                             else "choose at least one day")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("kind") != "cron":
            return None
        if not value:
            raise ValueError("needed for a cron schedule, e.g. 30 2 * * SUN")
        problem = cron_problem(value)
        if problem:
            raise ValueError(problem)
        return " ".join(value.split())

    @field_validator("duration_min")
    @classmethod
    def _spacing(cls, value: int, info: ValidationInfo) -> int:
        expression = schedule_expression(info.data)
        problem = expression and spacing_problem(expression, timedelta(minutes=value))
        if problem:
            raise ValueError(problem)
        return value


def schedule_expression(data: dict) -> str | None:
    """The cron expression of a schedule's fields, or None while they are incomplete."""
    if data.get("kind") == "cron":
        return data.get("cron")
    if data.get("kind") == "weekly" and data.get("weekdays") and data.get("start_time"):
        return weekly_expression(data["weekdays"], data["start_time"])
    return None


class SchedulePatch(Strict):
    """Any of ScheduleIn's fields; the result is checked as a whole (``ScheduleIn``)."""

    server_id: DbId | None = None
    label: str | None = None
    reason: str | None = None
    kind: str | None = None
    weekdays: list[str] | None = None
    start_time: str | None = None
    cron: str | None = None
    duration_min: int | None = None
