"""Heartbeat monitors: when a job that pings the portal is late, one rule for both sides.

A job (end-of-day, interest accrual, a backup) pings ``/ping/<key>`` when it succeeds,
``/ping/<key>/fail`` or a non-zero exit code when it fails, ``/ping/<key>/start`` when it
begins. The portal stores each ping and writes the job's ``PingState`` into
``HEARTBEATS_HASH`` and onto the ``PINGS_CHANNEL`` (``wire.channel``); the exporter, which
owns every server's up and down (docs/design.md, "Heartbeat monitors", says why), reads
them and judges the job by ``verdict`` against its schedule. The portal shows the next
deadline with the same function, so the page and the alert never disagree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, tzinfo

from cronsim import CronSim, CronSimError

HEARTBEATS_HASH = "servermon:heartbeats"  # server id -> the JSON of its PingState
PINGS_CHANNEL = "servermon:pings"  # each new PingState, as the hash holds it
# SD labels (``__meta_servermon_<name>``) carrying a heartbeat server's schedule;
# ``heartbeat_since`` and the state's times are unix seconds.
SCHEDULE_SETTINGS = ("heartbeat_period_s", "heartbeat_cron", "heartbeat_grace_s",
                     "heartbeat_since", "heartbeat_timezone")
PERIOD_RANGE_S = (60, 90 * 86400)  # a minute to a quarter
GRACE_RANGE_S = (60, 7 * 86400)
MAX_EXIT_CODE = 255


@dataclass(slots=True)
class PingState:
    """A job's latest pings, in unix seconds. ``last_kind`` is that of the newest ping;
    ``started_at`` is set while a run is under way (a start not yet ended)."""

    server_id: int
    last_ping_at: float | None = None
    last_kind: str | None = None  # "start", "success" or "fail"
    last_success_at: float | None = None
    last_fail_at: float | None = None
    exit_code: int | None = None  # of the newest ending ping that gave one
    started_at: float | None = None
    duration_s: float | None = None  # the newest finished run's, start to end

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> PingState:
        """ValueError for anything that is not a state this module wrote."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not a heartbeat state: {exc}") from None

    @property
    def failed(self) -> bool:
        """Its newest ending ping said the run failed (a start since changes nothing)."""
        return self.last_fail_at is not None and (
            self.last_success_at is None or self.last_fail_at > self.last_success_at)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Either ``period_s`` or ``cron`` (read in ``zone``), with ``grace_s``; ``since`` is when
    the schedule began to hold (set or changed), the reference before a first ping."""

    grace_s: float
    since: float
    period_s: float | None = None
    cron: str | None = None
    zone: tzinfo = UTC


@dataclass(frozen=True, slots=True)
class Verdict:
    """``status`` "up" or "down"; ``at`` when that state began (a down from lateness dates
    from the deadline, not from when it was noticed); ``deadline`` when the job is late
    unless it pings (None once it has failed: only a ping mends that)."""

    status: str
    at: float
    deadline: float | None
    reason: str | None = None
    reason_code: str | None = None


def next_expected(schedule: Schedule, after: float) -> float:
    """When the job should ping next, after it last did at ``after``: a period later, or
    at the first time the cron expression names after that moment."""
    if schedule.cron is None:
        return after + (schedule.period_s or 0.0)
    start = datetime.fromtimestamp(after, schedule.zone)
    try:
        return next(CronSim(schedule.cron, start)).timestamp()
    except (CronSimError, StopIteration):
        return float("inf")  # the portal refuses such an expression; never "late" for it


def deadline(schedule: Schedule, state: PingState | None) -> float:
    """When the job is late: its next expected ping after the last success (or after the
    schedule began, when it has never succeeded since), plus the grace."""
    reference = schedule.since
    if state is not None and state.last_success_at is not None:
        reference = max(reference, state.last_success_at)
    return next_expected(schedule, reference) + schedule.grace_s


def verdict(schedule: Schedule, state: PingState | None, now: float) -> Verdict:
    """Up while the job is on time; down from the moment it failed, or from its deadline.

    A failure is a run that said so (``/fail``, a non-zero exit code) and no success since;
    the next success ends it, as it ends lateness."""
    if state is not None and state.failed:
        code = f" with exit code {state.exit_code}" if state.exit_code is not None else ""
        return Verdict("down", state.last_fail_at, None, f"run failed{code}", "run_failed")
    due = deadline(schedule, state)
    if now >= due:
        last = state.last_success_at if state is not None else None
        # in the schedule's zone, the one its staff read the cron line and the pages in
        since = (f"since {datetime.fromtimestamp(last, schedule.zone):%Y-%m-%d %H:%M %Z}"
                 if last else "yet")
        return Verdict("down", due, None, f"late: no ping {since}", "late")
    at = state.last_success_at if state is not None and state.last_success_at else schedule.since
    return Verdict("up", at, due)
