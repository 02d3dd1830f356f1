"""Recurring maintenance: schedules, and the ordinary windows their occurrences become.

An occurrence is planned ahead of time (every one starting within ``LOOKAHEAD``, and the
one after them, so the next is always listed and silenced) as a ``MaintenanceWindow`` naming
its schedule and revision; effective status, silences, reports and the Alerts page then
treat it like any window. The unique key (schedule, revision, start) and an INSERT that
skips a row already there make planning idempotent, however many workers plan at once;
on PostgreSQL the schedule row is also locked while its occurrences are planned or
replaced. An edit starts a new revision: occurrences not yet begun are cancelled and the
new spec's planned from that moment. Cancelling a schedule cancels those not yet begun;
one in progress runs on (it can be cancelled alone, like any occurrence).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.audit.service import Target, record
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.incidents.maintenance import (
    announce,
    mark_cancelled,
    sync_silence,
    window_audited,
    window_target,
)
from portal.incidents.models import MaintenanceSchedule, MaintenanceWindow
from portal.incidents.recurrence import WEEKDAYS, occurrences, weekly_expression
from portal.incidents.schemas import ScheduleIn
from portal.incidents.serialize import serialize_schedule
from portal.servers.models import Server
from portal.servers.schemas import label_selector
from portal.settings.service import load_settings

LOOKAHEAD = timedelta(hours=24)
MAX_PLANNED = 50  # per schedule and pass; at most one an hour, so 26 at most in practice
SPEC_FIELDS = ("server_id", "label", "reason", "kind", "weekdays", "start_time", "cron",
               "duration_min")


def schedule_query(include_cancelled: bool = True) -> Select:
    query = select(MaintenanceSchedule).order_by(MaintenanceSchedule.cancelled_at.is_not(None),
                                                 MaintenanceSchedule.id.desc())
    if not include_cancelled:
        query = query.where(MaintenanceSchedule.cancelled_at.is_(None))
    return query


def expression(schedule: MaintenanceSchedule) -> str:
    if schedule.kind == "cron":
        return schedule.cron or ""
    return weekly_expression((schedule.weekdays or "").split(","), schedule.start_time or "")


def zone() -> ZoneInfo:
    return ZoneInfo(load_settings().timezone)


def next_starts(schedule: MaintenanceSchedule, count: int = 3,
                now: datetime | None = None) -> list[datetime]:
    """The next occurrences' starts (UTC), none for a cancelled schedule."""
    if schedule.cancelled_at is not None:
        return []
    since = max(now or utcnow(), schedule.effective_from)
    starts = []
    for start in occurrences(expression(schedule), zone(), since):
        starts.append(start)
        if len(starts) >= count:
            break
    return starts


def schedule_view(schedule: MaintenanceSchedule) -> dict:
    """The API's representation, with the next occurrences in the configured zone's terms."""
    return serialize_schedule(schedule, next_starts(schedule), load_settings().timezone)


def spec(schedule: MaintenanceSchedule) -> dict:
    """The schedule as ScheduleIn's fields (what an edit is laid over)."""
    return {"server_id": schedule.server_id,
            "label": f"{schedule.label_key}={schedule.label_value}" if schedule.label_key
            else None,
            "reason": schedule.reason, "kind": schedule.kind,
            "weekdays": schedule.weekdays.split(",") if schedule.weekdays else None,
            "start_time": schedule.start_time, "cron": schedule.cron,
            "duration_min": schedule.duration_min}


def _target(schedule: MaintenanceSchedule) -> Target:
    scope = schedule.server.name if schedule.server_id and schedule.server else \
        f"{schedule.label_key}={schedule.label_value}"
    return Target("maintenance_schedule", schedule.id, scope)


def _apply(schedule: MaintenanceSchedule, data: ScheduleIn) -> None:
    if data.server_id is not None and db.session.get(Server, data.server_id) is None:
        raise APIError(400, "invalid value for server_id", {"server_id": "no such server"})
    key, value = label_selector(data.label) if data.label else (None, None)
    schedule.server_id, schedule.label_key, schedule.label_value = data.server_id, key, value
    schedule.reason, schedule.kind, schedule.duration_min = data.reason, data.kind, \
        data.duration_min
    weekly = data.kind == "weekly"
    schedule.weekdays = ",".join(day for day in WEEKDAYS if day in (data.weekdays or [])) \
        if weekly else None
    schedule.start_time = data.start_time if weekly else None
    schedule.cron = data.cron if not weekly else None


def create_schedule(data: ScheduleIn, user: User) -> MaintenanceSchedule:
    schedule = MaintenanceSchedule(created_by_id=user.id, created_by_name=user.username,
                                   effective_from=utcnow(), revision=1)
    _apply(schedule, data)
    db.session.add(schedule)
    db.session.flush()
    record("maintenance.schedule_created", _target(schedule), after=spec(schedule), actor=user)
    db.session.commit()
    _plan_now(schedule)
    return schedule


def update_schedule(schedule: MaintenanceSchedule, changes: dict, user: User) -> MaintenanceSchedule:
    """``changes``: the fields the client sent, laid over the schedule and checked whole."""
    if schedule.cancelled_at is not None:
        raise APIError(409, "the schedule is cancelled", {"id": "cancelled"})
    data = ScheduleIn.model_validate({**spec(schedule), **changes})
    _lock(schedule)
    before = spec(schedule)
    _apply(schedule, data)
    now = utcnow()
    schedule.revision += 1
    schedule.effective_from = now
    replaced = _cancel_future(schedule, now)
    record("maintenance.schedule_updated", _target(schedule), before=before,
           after=spec(schedule), actor=user)
    db.session.commit()
    _after_cancelling(replaced)
    _plan_now(schedule)
    return schedule


def cancel_schedule(schedule: MaintenanceSchedule) -> MaintenanceSchedule:
    """Idempotent, like cancelling a window."""
    if schedule.cancelled_at is None:
        _lock(schedule)
        now = utcnow()
        schedule.cancelled_at = now
        replaced = _cancel_future(schedule, now)
        record("maintenance.schedule_cancelled", _target(schedule), before=spec(schedule))
        db.session.commit()
        _after_cancelling(replaced)
    return schedule


def _lock(schedule: MaintenanceSchedule) -> None:
    """Hold the schedule's row (PostgreSQL) while its occurrences change."""
    db.session.execute(select(MaintenanceSchedule.id).where(
        MaintenanceSchedule.id == schedule.id).with_for_update())


def _cancel_future(schedule: MaintenanceSchedule, now: datetime) -> list[MaintenanceWindow]:
    windows = list(db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.schedule_id == schedule.id, MaintenanceWindow.starts_at > now,
        MaintenanceWindow.cancelled_at.is_(None))))
    for window in windows:
        mark_cancelled(window)
    return windows


def _after_cancelling(windows: list[MaintenanceWindow]) -> None:
    for window in windows:
        sync_silence(window)
    announce(windows)


def _plan_now(schedule: MaintenanceSchedule) -> None:
    """A schedule just saved plans its occurrences and makes their silences at once; what
    fails is left to the worker's passes."""
    planned = plan_schedule(schedule.id, utcnow())
    db.session.commit()
    windows = [db.session.get(MaintenanceWindow, window_id) for window_id in planned]
    for window in windows:
        sync_silence(window)
    announce(windows)


def plan_occurrences(now: datetime | None = None) -> int:
    """The periodic job: every live schedule's coming occurrences become windows. Their
    silences are made by the silence sync, which runs next."""
    now = now or utcnow()
    tz = zone()
    planned = []
    live = db.session.scalars(select(MaintenanceSchedule).where(
        MaintenanceSchedule.cancelled_at.is_(None)).order_by(MaintenanceSchedule.id)).all()
    for schedule in live:
        made = plan_schedule(schedule.id, now, tz)
        if made:  # each schedule's occurrences and their audit rows, committed together
            db.session.commit()
        planned += made
    db.session.commit()
    announce([db.session.get(MaintenanceWindow, window_id) for window_id in planned])
    return len(planned)


def plan_schedule(schedule_id: int, now: datetime, tz: ZoneInfo | None = None) -> list[int]:
    """The ids of the windows this call made (not committed); those already planned, by
    this process or another, are left as they are. The schedule's row is locked only when
    something is missing, so a pass with nothing to do takes no lock."""
    tz = tz or zone()
    schedule = db.session.get(MaintenanceSchedule, schedule_id)
    if schedule is None or schedule.cancelled_at is not None or not _missing(schedule, now, tz):
        return []
    schedule = db.session.scalars(select(MaintenanceSchedule).where(
        MaintenanceSchedule.id == schedule_id).with_for_update()
        .execution_options(populate_existing=True)).one_or_none()
    if schedule is None or schedule.cancelled_at is not None:
        return []
    duration = timedelta(minutes=schedule.duration_min)
    made = [window_id for start in _missing(schedule, now, tz)
            if (window_id := _insert_occurrence(schedule, start, start + duration)) is not None]
    for window_id in made:
        window = db.session.get(MaintenanceWindow, window_id)
        record("maintenance.created", window_target(window), after=window_audited(window),
               actor_name="schedule")
    return made


def _missing(schedule: MaintenanceSchedule, now: datetime, tz: ZoneInfo) -> list[datetime]:
    """Starts of the occurrences to plan by now that have no window of this revision yet:
    each starting within LOOKAHEAD, and the one after them; one in progress too (a worker
    that was down plans it late rather than never)."""
    since = max(schedule.effective_from, now - timedelta(minutes=schedule.duration_min))
    planned = set(db.session.scalars(select(MaintenanceWindow.starts_at).where(
        MaintenanceWindow.schedule_id == schedule.id,
        MaintenanceWindow.schedule_revision == schedule.revision,
        MaintenanceWindow.starts_at >= since)))
    missing = []
    for count, start in enumerate(occurrences(expression(schedule), tz, since), 1):
        if start not in planned:
            missing.append(start)
        if start >= now + LOOKAHEAD or count >= MAX_PLANNED:
            break
    return missing


def _insert_occurrence(schedule: MaintenanceSchedule, starts_at: datetime,
                       ends_at: datetime) -> int | None:
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(MaintenanceWindow).values(
        server_id=schedule.server_id, label_key=schedule.label_key,
        label_value=schedule.label_value, starts_at=starts_at, ends_at=ends_at,
        reason=schedule.reason, created_by_id=schedule.created_by_id,
        created_by_name=schedule.created_by_name, created_at=utcnow(),
        schedule_id=schedule.id, schedule_revision=schedule.revision,
    ).on_conflict_do_nothing(
        index_elements=["schedule_id", "schedule_revision", "starts_at"],
    ).returning(MaintenanceWindow.id)
    return db.session.execute(statement).scalar()
