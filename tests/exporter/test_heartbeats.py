"""Heartbeat servers: judged from the pings the portal writes to Redis, late from their
deadline exactly, never late for want of hearing (exporter/heartbeats.py)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from exporter.heartbeats import PingBook
from exporter.metrics import Exposition
from exporter.scheduler import Scheduler
from tests.exporter.conftest import EXPORTER_REDIS_URL, run, target
from tests.exporter.test_scheduler import Results
from tests.support.binaries import free_port
from wire import channel
from wire.heartbeat import HEARTBEATS_HASH, PINGS_CHANNEL, PingState


def _job(since: float, period_s: int = 60, grace_s: int = 60, server_id: int = 5):
    return target("heartbeat", f"heartbeat:{server_id}", server_id, interval_s=30,
                  heartbeat_period_s=period_s, heartbeat_grace_s=grace_s,
                  heartbeat_since=since, heartbeat_timezone="Africa/Kampala")


def _say(state: PingState) -> None:
    """What the portal's record_ping does with a stored ping."""
    client = redis.Redis.from_url(EXPORTER_REDIS_URL)
    client.hset(HEARTBEATS_HASH, str(state.server_id), state.to_json())
    client.publish(channel(PINGS_CHANNEL, client), state.to_json())


def _statuses(results: Results, server_id: int = 5) -> list[str]:
    return [status for _at, status, _previous, _result in results.seen.get(server_id, [])]


def test_late_at_its_deadline_to_the_moment_then_up_at_the_next_ping_then_down_on_fail():
    redis.Redis.from_url(EXPORTER_REDIS_URL).delete(HEARTBEATS_HASH)
    results = Results()

    async def scenario():
        made = Scheduler(10, results, results.removed.append)
        made.loaded = True  # past its first load: a new server is judged at once
        book = PingBook(EXPORTER_REDIS_URL, made.wake, settle_s=0.2)
        made.pings = book
        listening = asyncio.create_task(book.listen())
        since = time.time() - 118  # a 60 s period and a 60 s grace: late in 2 s
        made.update([_job(since)])
        await results.wait(lambda: _statuses(results) == ["up"], 3)
        state = made.states[5]
        assert state.deadline == since + 120
        await results.wait(lambda: _statuses(results) == ["up", "down"], 4)
        assert state.changed_at.timestamp() == pytest.approx(since + 120, abs=1e-5)  # not when seen
        assert state.result.reason == "late: no ping yet"
        pinged = time.time()
        _say(PingState(server_id=5, last_ping_at=pinged, last_kind="success",
                       last_success_at=pinged))
        await results.wait(lambda: _statuses(results)[-1] == "up", 2)
        assert abs(state.changed_at.timestamp() - pinged) < 1e-3
        assert state.deadline == pinged + 120
        failed = time.time()
        _say(PingState(server_id=5, last_ping_at=failed, last_kind="fail",
                       last_success_at=pinged, last_fail_at=failed, exit_code=1))
        await results.wait(lambda: _statuses(results)[-1] == "down", 2)
        assert state.result.reason == "run failed with exit code 1"
        lines = Exposition().text(made.states.values()).decode()
        assert 'probe_failure_info{server_id="5",server="s5",kind="heartbeat"' \
               ',reason="run_failed"} 1' in lines.replace(',instance="s5"', "")
        assert "servermon_heartbeat_last_ping_timestamp_seconds{" in lines
        listening.cancel()
        await made.stop()

    run(scenario())


def test_a_job_is_never_called_late_while_the_pings_cannot_be_heard():
    results = Results()

    async def scenario():
        made = Scheduler(10, results, results.removed.append)
        made.loaded = True  # past its first load: a new server is judged at once
        book = PingBook(f"redis://127.0.0.1:{free_port()}/0", made.wake, settle_s=0.2)
        made.pings = book
        listening = asyncio.create_task(book.listen())
        made.update([_job(time.time() - 300)])  # long past its deadline
        await asyncio.sleep(1.5)
        assert _statuses(results) == []  # held: neither up nor a late it cannot know
        assert made.states[5].status is None
        listening.cancel()
        await made.stop()

    run(scenario())
