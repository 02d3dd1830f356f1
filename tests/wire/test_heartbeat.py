"""When a job is late or failed: wire/heartbeat.py, shared by the portal and the exporter."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from wire.heartbeat import PingState, Schedule, deadline, verdict

KAMPALA = ZoneInfo("Africa/Kampala")  # UTC+3 all year
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC).timestamp()


def test_a_job_pinging_on_time_stays_up_and_one_that_stops_is_late_from_its_deadline():
    schedule = Schedule(grace_s=300, since=T0, period_s=3600)
    pinged = PingState(server_id=1, last_ping_at=T0 + 3500, last_kind="success",
                       last_success_at=T0 + 3500)
    assert verdict(schedule, pinged, T0 + 3500 + 3600 + 299).status == "up"
    late = verdict(schedule, pinged, T0 + 3500 + 3600 + 300)
    assert (late.status, late.at, late.reason_code) == ("down", T0 + 3500 + 3900, "late")
    assert late.reason == "late: no ping since 2026-12-01 08:58 UTC"


def test_the_late_reason_gives_the_last_ping_in_the_schedules_zone():
    """Staff in Kampala read the pages in EAT; a reason in UTC was three hours off theirs."""
    schedule = Schedule(grace_s=300, since=T0, period_s=3600, zone=KAMPALA)
    pinged = PingState(server_id=1, last_ping_at=T0 + 3500, last_kind="success",
                       last_success_at=T0 + 3500)
    assert verdict(schedule, pinged, T0 + 7400).reason == "late: no ping since 2026-12-01 11:58 EAT"


def test_a_job_never_pinged_is_late_a_period_and_a_grace_after_its_schedule_began():
    schedule = Schedule(grace_s=60, since=T0, period_s=600)
    assert verdict(schedule, None, T0 + 659).status == "up"
    assert verdict(schedule, None, T0 + 660).status == "down"
    assert verdict(schedule, None, T0 + 660).reason == "late: no ping yet"


@pytest.mark.parametrize("exit_code", [None, 1])
def test_a_failed_run_is_down_from_its_ping_until_the_next_success(exit_code):
    schedule = Schedule(grace_s=300, since=T0, period_s=3600)
    failed = PingState(server_id=1, last_ping_at=T0 + 10, last_kind="fail",
                       last_success_at=T0 + 5, last_fail_at=T0 + 10, exit_code=exit_code)
    found = verdict(schedule, failed, T0 + 11)
    assert (found.status, found.at, found.reason_code) == ("down", T0 + 10, "run_failed")
    assert found.reason == ("run failed" if exit_code is None else "run failed with exit code 1")
    started = dataclasses.replace(failed)
    started.last_kind, started.started_at, started.last_ping_at = "start", T0 + 20, T0 + 20
    assert verdict(schedule, started, T0 + 21).status == "down"  # a start mends nothing
    started.last_success_at = started.last_ping_at = T0 + 30
    started.last_kind = "success"
    assert verdict(schedule, started, T0 + 31).status == "up"


def test_a_cron_schedule_in_kampala_across_the_day_boundary():
    """23:30 every day in Kampala (20:30 UTC), an hour's grace: the run of 1 December,
    on time, makes the deadline 00:30 on 3 December, Kampala time; a run that never
    comes on the 2nd is late from then, the next calendar day."""
    since = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
    schedule = Schedule(grace_s=3600, since=since, cron="30 23 * * *", zone=KAMPALA)
    ran = datetime(2026, 12, 1, 23, 31, tzinfo=KAMPALA).timestamp()
    state = PingState(server_id=1, last_ping_at=ran, last_kind="success", last_success_at=ran)
    due = datetime(2026, 12, 3, 0, 30, tzinfo=KAMPALA).timestamp()
    assert deadline(schedule, state) == due
    assert verdict(schedule, state, due - 1).status == "up"
    assert verdict(schedule, state, due).status == "down"
    assert verdict(schedule, state, due).at == due
    # Without a zone the same expression is read in UTC: three hours later.
    in_utc = Schedule(grace_s=3600, since=since, cron="30 23 * * *")
    assert deadline(in_utc, state) == datetime(2026, 12, 2, 0, 30, tzinfo=UTC).timestamp()


def test_a_state_round_trips_and_garbage_is_refused():
    state = PingState(server_id=7, last_ping_at=1.5, last_kind="start", started_at=1.5)
    assert PingState.from_json(state.to_json()) == state
    for garbage in ("[]", "{", '{"server_id": 1, "colour": "red"}'):
        with pytest.raises(ValueError):
            PingState.from_json(garbage)
