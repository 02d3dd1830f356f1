"""Scheduling: spread over the interval, on time, and no target able to delay another."""

import asyncio
import time

from exporter import health
from exporter.scheduler import Scheduler, phase
from tests.exporter.conftest import run, target


def test_phases_spread_targets_over_the_interval():
    offsets = sorted(phase(server_id, 30) for server_id in range(1, 10001))
    buckets = [0] * 30
    for offset in offsets:
        assert 0 <= offset < 30
        buckets[int(offset)] += 1
    assert max(buckets) < 2 * 10000 / 30  # no second carries twice its share


def test_a_stalled_target_does_not_delay_another(http_base):
    results = {}

    def on_result(state, _previous):
        results.setdefault(state.target.server_id, []).append(
            (time.monotonic(), state.result))

    async def scenario():
        scheduler = Scheduler(concurrency=10, on_result=on_result, on_removed=lambda _id: None)
        stalled = target("http", f"{http_base}/stall", server_id=1, interval_s=3, timeout_s=2.5)
        healthy = target("http", f"{http_base}/ok", server_id=2, interval_s=3, timeout_s=2.5)
        fast = target("tcp", http_base.removeprefix("http://"), server_id=3, interval_s=3,
                      timeout_s=1)
        scheduler.update([stalled, healthy, fast])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (2 in results and 3 in results):
            await asyncio.sleep(0.05)
        await scheduler.stop()

    run(scenario())
    assert results[2][0][1].success and results[3][0][1].success
    assert 1 not in results or not results[1][0][1].success


def test_a_probe_is_confirmed_before_a_server_is_reported_down(closed_port):
    seen = []

    async def scenario():
        scheduler = Scheduler(10, lambda state, prev: seen.append(
            (state.status, time.monotonic())), lambda _id: None)
        scheduler.states.clear()
        down = target("tcp", f"127.0.0.1:{closed_port}", interval_s=10, timeout_s=1,
                      confirm_down=True)
        started = time.monotonic()
        from exporter.scheduler import TargetState

        state = TargetState(target=down)
        await scheduler._probe_once(state, asyncio.get_running_loop().time())
        return started

    before = health.PROBES.labels("tcp", "failure")._value.get()
    started = run(scenario())
    assert seen[0][0] == "down"
    assert seen[0][1] - started >= 1.0  # the retry waited before declaring it down
    assert health.PROBES.labels("tcp", "failure")._value.get() == before + 1


def test_removed_targets_stop_and_are_forgotten(http_base):
    removed = []

    async def scenario():
        scheduler = Scheduler(10, lambda *_: None, removed.append)
        scheduler.update([target("http", f"{http_base}/ok", server_id=5, interval_s=10)])
        task = scheduler.states[5].task
        scheduler.update([])
        await asyncio.sleep(0)
        return scheduler, task

    scheduler, task = run(scenario())
    assert removed == [5] and scheduler.states == {} and task.cancelled()
