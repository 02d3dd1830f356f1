"""When a recurring maintenance schedule's occurrences begin, worked out by ``cronsim``.

A weekly schedule (days and a start time) is the cron expression ``M H * * DAYS``, so both
kinds share one calendar and one answer to daylight saving, Debian cron's: a start time
the clock skips (01:30 on the night Europe/London goes from 01:00 to 02:00) begins at the
moment the clock jumps to (02:00 BST), and a start time the clock passes twice begins once,
at the first (01:30 BST, not 01:30 GMT). Durations are elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from cronsim import CronSim, CronSimError

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MIN_GAP = timedelta(hours=1)  # no schedule makes more than one window an hour
CHECKED = 200  # occurrences looked at for overlaps: a year of weekly ones, a week of hourly

_FIELDS = (
    ("minute", "1st", "0-59"),
    ("hour", "2nd", "0-23"),
    ("day-of-month", "3rd", "1-31 or L, and a day the months given have"),
    ("month", "4th", "1-12 or JAN-DEC"),
    ("day-of-week", "5th", "0-7 or SUN-SAT (0 and 7 are Sunday)"),
)


def weekly_expression(days: list[str], start_time: str) -> str:
    hour, minute = start_time.split(":")
    ordered = [day for day in WEEKDAYS if day in days]
    return f"{int(minute)} {int(hour)} * * {','.join(ordered)}"


def cron_problem(expression: str) -> str | None:
    """What is wrong with a cron expression, in plain words; None when nothing is."""
    parts = expression.split()
    if len(parts) != 5:
        return (f"needs five fields separated by spaces (minute, hour, day of month, month, "
                f"day of week), e.g. \"30 2 * * SUN\"; this has {len(parts)}")
    try:
        next(CronSim(expression, datetime.now(UTC)))
    except CronSimError as exc:
        for part, (name, position, allowed) in zip(parts, _FIELDS, strict=True):
            if str(exc) == f"Bad {name}":
                return (f"the {name.replace('-', ' ')} (the {position} field, \"{part}\") "
                        f"must be {allowed}; * for every one, lists (1,15), ranges (1-5) "
                        f"and steps (*/2) also work")
        return f"is not a cron expression ({exc})"
    except StopIteration:
        return "never comes round: no date in the next 50 years matches it"
    return None


def occurrences(expression: str, zone: tzinfo, since: datetime) -> Iterator[datetime]:
    """Occurrence starts at or after ``since``, in UTC, read as wall-clock time in ``zone``."""
    moments = CronSim(expression, (since - timedelta(seconds=1)).astimezone(zone))
    while True:
        try:
            yield next(moments).astimezone(UTC)
        except StopIteration:
            return


def spacing_problem(expression: str, duration: timedelta) -> str | None:
    """Occurrences closer than an hour, or that would overlap, are refused (checked in UTC:
    daylight saving can bring two an hour closer once a year, which does no harm)."""
    previous = None
    for count, start in enumerate(occurrences(expression, UTC, datetime.now(UTC))):
        if previous is not None:
            gap = start - previous
            if gap < MIN_GAP:
                return "occurrences must be at least an hour apart"
            if gap < duration:
                return (f"each occurrence must end before the next begins: two are only "
                        f"{_minutes(gap)} apart")
        if count >= CHECKED:
            break
        previous = start
    return None


def _minutes(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    for unit, size in (("day", 24 * 60), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minutes"
