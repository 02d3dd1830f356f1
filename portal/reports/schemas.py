"""What the downtime report endpoint accepts: a period (dates with offsets, or a preset),
a scope (one server or a label), a format and a table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from portal.reports.downtime import MAX_DAYS, PRESETS, Period, Scope, preset_period
from portal.schemas import DbId, Strict
from portal.servers.schemas import label_selector


class ReportQuery(Strict):
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    preset: Literal[PRESETS] | None = None  # type: ignore[valid-type]
    server_id: DbId | None = None
    label: str | None = Field(None, max_length=300)
    format: Literal["json", "csv", "xlsx"] = "json"
    table: Literal["summary", "incidents"] = "summary"

    @model_validator(mode="after")
    def _checks(self) -> ReportQuery:
        for name in ("from_", "to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                field = name.rstrip("_")
                raise ValueError(f"{field}: needs a UTC offset, e.g. 2026-11-01T00:00:00+03:00")
        if (self.from_ is None) != (self.to is None):
            raise ValueError("to: give both from and to, or a preset")
        if self.from_ and self.to:
            if self.to <= self.from_:
                raise ValueError("to: must be after from")
            if self.to - self.from_ > timedelta(days=MAX_DAYS):
                raise ValueError(f"to: a report covers at most {MAX_DAYS} days")
        if self.label is not None:
            try:
                label_selector(self.label)
            except ValueError as exc:
                raise ValueError(f"label: {exc}") from None
        return self

    def period(self, timezone: ZoneInfo) -> Period:
        if self.from_ and self.to:
            return Period(self.from_, self.to, timezone)
        return preset_period(self.preset or "last_7_days", timezone)

    def scope(self) -> Scope:
        label = label_selector(self.label) if self.label else None
        return Scope(server_id=self.server_id, label=label)
