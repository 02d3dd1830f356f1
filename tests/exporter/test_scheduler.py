"""Scheduling: spread over the interval, on time, bounded, and no target delaying another."""

import asyncio
import dataclasses
import time

from exporter import health
from exporter.scheduler import Scheduler, TargetState, next_due, phase
from tests.exporter.conftest import run, target


class Results:
    """The scheduler's result handler, remembering (when, status, previous, result)."""

    def __init__(self) -> None:
        self.seen: dict[int, list] = {}
        self.removed: list[int] = []

    def __call__(self, state: TargetState, previous) -> None:
        self.seen.setdefault(state.target.server_id, []).append(
            (time.monotonic(), state.status, previous, state.result))

    async def wait(self, check, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"not within {timeout}s: {self.seen}"
            await asyncio.sleep(0.01)


def scheduler(results: Results, concurrency: int = 10, started: bool = True) -> Scheduler:
    """A scheduler; ``started`` means past its first load, so new targets run at once."""
    made = Scheduler(concurrency, results, results.removed.append)
    made.loaded = started
    return made


def test_phases_spread_targets_over_the_interval():
    buckets = [0] * 30
    for server_id in range(1, 10001):
        offset = phase(server_id, 30)
        assert 0 <= offset < 30
        buckets[int(offset)] += 1
    assert max(buckets) < 1.2 * 10000 / 30  # no second carries much more than its share


def test_a_server_keeps_its_phase():
    now = 1000.0
    due = next_due(now, 42, 30)
    assert now <= due < now + 30
    assert next_due(due + 1, 42, 30) == due + 30
    assert abs(due % 30 - phase(42, 30)) < 1e-9


def test_on_first_load_targets_wait_for_their_phase(http_base):
    results = Results()

    async def scenario():
        made = scheduler(results, started=False)
        made.update([target("http", f"{http_base}/ok", server_id=1, interval_s=86400)])
        await asyncio.sleep(0.2)
        await made.stop()

    run(scenario())
    assert results.seen == {}  # its phase is, all but surely, hours away


def test_a_stalled_target_does_not_delay_another(http_base):
    results = Results()
    port = http_base.rsplit(":", 1)[1]

    async def scenario():
        made = scheduler(results, concurrency=10)
        stalled = [target("http", f"{http_base}/stall", server_id=i, timeout_s=2.5)
                   for i in range(1, 6)]
        made.update([*stalled, target("http", f"{http_base}/ok", server_id=10),
                     target("tcp", f"127.0.0.1:{port}", server_id=11)])
        started = time.monotonic()
        await results.wait(lambda: 10 in results.seen and 11 in results.seen)
        elapsed = time.monotonic() - started
        await made.stop()
        return elapsed

    elapsed = run(scenario())
    assert elapsed < 1.0  # while five probes hang until their 2.5 s timeout
    assert not any(server_id in results.seen for server_id in range(1, 6))
    assert results.seen[10][0][3].success and results.seen[11][0][3].success


def test_no_more_probes_run_at_once_than_the_concurrency_allows(http_base, in_flight):
    results = Results()
    in_flight.peak = 0

    async def scenario():
        made = scheduler(results, concurrency=2)
        made.update([target("http", f"{http_base}/slow", server_id=i) for i in range(1, 7)])
        await results.wait(lambda: len(results.seen) == 6)
        await made.stop()

    run(scenario())
    assert in_flight.peak == 2


def test_each_server_runs_on_its_own_interval(http_base):
    results = Results()
    port = http_base.rsplit(":", 1)[1]
    fast = dataclasses.replace(target("tcp", f"127.0.0.1:{port}", server_id=1), interval_s=0.2)
    slow = dataclasses.replace(target("tcp", f"127.0.0.1:{port}", server_id=2), interval_s=0.6)
    lateness_before = health.LATENESS._sum.get()

    async def scenario():
        made = scheduler(results)
        made.update([fast, slow])
        await asyncio.sleep(1.3)
        await made.stop()

    run(scenario())
    assert 6 <= len(results.seen[1]) <= 8
    assert 2 <= len(results.seen[2]) <= 4
    gaps = [b[0] - a[0] for a, b in zip(results.seen[1][1:], results.seen[1][2:], strict=False)]
    assert all(0.1 < gap < 0.3 for gap in gaps), gaps
    assert health.LATENESS._sum.get() - lateness_before < 0.1 * 11


async def probe_once(made: Scheduler, state: TargetState) -> float:
    """One scheduled probe of ``state``, with its confirming retries; the seconds it took."""
    started = time.monotonic()
    await made._probe_once(state, asyncio.get_running_loop().time())
    return time.monotonic() - started


def test_a_failure_is_confirmed_before_the_server_is_reported_down(closed_port):
    results = Results()
    down = target("tcp", f"127.0.0.1:{closed_port}", down_after=2, timeout_s=1)
    failures = health.PROBES.labels("tcp", "failure")

    async def scenario():
        made = scheduler(results)
        state = TargetState(target=down)
        first = await probe_once(made, state)
        return state, first, await probe_once(made, state)

    before = failures._value.get()
    state, first, second = run(scenario())
    assert first >= 1.0  # waited and retried before calling it down
    assert second < 0.5  # already down: no confirmation needed
    assert failures._value.get() == before + 3
    assert [(s, p) for _t, s, p, _r in results.seen[1]] == [("down", None), ("down", "down")]
    assert state.changed_at < state.checked_at  # the outage dates from the first failure


def test_down_after_three_failures_in_a_row_and_a_success_between_resets_it(closed_port,
                                                                              http_base):
    results = Results()
    down = target("tcp", f"127.0.0.1:{closed_port}", down_after=3, timeout_s=1)
    failures = health.PROBES.labels("tcp", "failure")

    state = TargetState(target=down)
    before = failures._value.get()
    took = run(probe_once(scheduler(results), state))
    assert took >= 2.0 and failures._value.get() == before + 3  # the probe and two retries
    assert state.status == "down" and state.changed_at < state.checked_at

    flaky = TargetState(target=target("http", f"{http_base}/once-broken/down-after-3",
                                      down_after=3), status="up")
    run(probe_once(scheduler(results), flaky))
    assert flaky.status == "up"  # the first retry answered: never down


def test_a_recovered_server_is_reported_up_without_waiting(http_base):
    results = Results()
    ok = target("http", f"{http_base}/ok", down_after=2)

    async def scenario():
        made = scheduler(results)
        state = TargetState(target=ok, status="down")
        await made._probe_once(state, asyncio.get_running_loop().time())
        return state

    state = run(scenario())
    assert state.status == "up" and state.changed_at == state.checked_at == state.last_ok_at


def test_changes_reschedule_and_removals_stop_and_are_forgotten(http_base):
    results = Results()

    async def scenario():
        made = scheduler(results, started=False)
        first = target("http", f"{http_base}/ok", server_id=5, interval_s=86400)
        made.update([first])
        state = made.states[5]
        booked = state.slot
        relabelled = dataclasses.replace(first, labels_text='server_id="5",team="new"')
        made.update([relabelled])
        kept = state.slot == booked and state.target is relabelled
        made.update([dataclasses.replace(relabelled, interval_s=60)])
        soon = state.slot - made.dispatched <= 2  # edited: probed again at once
        await results.wait(lambda: 5 in results.seen)
        made.update([])
        await made.stop()
        return kept, soon, made.states, state

    kept, soon, states, state = run(scenario())
    assert kept and soon
    assert states == {} and results.removed == [5]
    assert state.slot is None
    assert health.TARGETS._value.get() == 0


def test_a_removed_server_in_mid_probe_is_not_rescheduled(http_base):
    results = Results()

    async def scenario():
        made = scheduler(results)
        made.update([target("http", f"{http_base}/stall", server_id=7, timeout_s=2.5)])
        state = made.states[7]
        while state.task is None:
            await asyncio.sleep(0.01)
        made.update([])
        await asyncio.sleep(0.05)
        await made.stop()
        return state

    state = run(scenario())
    assert state.task.done() and state.slot is None and results.seen == {}
