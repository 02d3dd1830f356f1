"""Cron expressions, read by ``cronsim`` with Debian cron's answer to daylight saving: a
time the clock skips happens at the moment the clock jumps to, a time it passes twice
happens once, at the first. One home, since the portal checks expressions (maintenance
schedules, heartbeat monitors) and the exporter reads them (heartbeat deadlines).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from cronsim import CronSim, CronSimError

_FIELDS = (
    ("minute", "1st", "0-59"),
    ("hour", "2nd", "0-23"),
    ("day-of-month", "3rd", "1-31 or L, and a day the months given have"),
    ("month", "4th", "1-12 or JAN-DEC"),
    ("day-of-week", "5th", "0-7 or SUN-SAT (0 and 7 are Sunday)"),
)


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
