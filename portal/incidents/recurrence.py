"""When a recurring maintenance schedule's occurrences begin, worked out by ``cronsim``.

A weekly schedule (days and a start time) is the cron expression ``M H * * DAYS``, so both
kinds share one calendar and one answer to daylight saving, Debian cron's: a start time
the clock skips (01:30 on the night Europe/London goes from 01:00 to 02:00) begins at the
moment the clock jumps to (02:00 BST), and a start time the clock passes twice begins once,
at the first (01:30 BST, not 01:30 GMT). Durations are elapsed time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wire.cron import cron_problem, occurrences

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MIN_GAP = timedelta(hours=1)  # no schedule makes more than one window an hour
CHECKED = 200  # occurrences looked at for overlaps: a year of weekly ones, a week of hourly

__all__ = ["cron_problem", "occurrences", "spacing_problem", "weekly_expression"]


def weekly_expression(days: list[str], start_time: str) -> str:
    hour, minute = start_time.split(":")
    ordered = [day for day in WEEKDAYS if day in days]
    return f"{int(minute)} {int(hour)} * * {','.join(ordered)}"


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
