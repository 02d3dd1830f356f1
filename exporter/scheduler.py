"""Every target on its own interval, spread over it, none able to delay another.

One asyncio task per target sleeps until its next due time. Due times are fixed points
(a stable phase per server within its interval), so 10,000 targets do not fire together
and a slow probe never shifts the ones after it; a semaphore bounds how many run at once
and a hard timeout ends any probe that hangs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from exporter import health
from exporter.probes import PROBES
from exporter.probes.result import ProbeResult
from exporter.targets import Target

log = logging.getLogger(__name__)

CONFIRM_DELAY_S = 1.0
GRACE_S = 1.0  # beyond the target's own timeout, before the probe task is cancelled


@dataclass
class TargetState:
    target: Target
    status: str | None = None  # "up" | "down" once known
    result: ProbeResult | None = None
    checked_at: datetime | None = None
    last_ok_at: datetime | None = None
    task: asyncio.Task | None = field(default=None, repr=False)


ResultHandler = Callable[[TargetState, str | None], Awaitable[None] | None]


def phase(server_id: int, interval_s: float) -> float:
    """A stable offset in [0, interval): Knuth's multiplicative hash of the id."""
    return ((server_id * 2654435761) % 2**32) / 2**32 * interval_s


async def run_probe(target: Target) -> ProbeResult:
    """Run the kind's probe under a hard timeout; any failure becomes a reason, not a crash."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(target.timeout_s + GRACE_S):
            return await PROBES[target.kind](target)
    except TimeoutError:
        reason = f"timeout after {target.timeout_s:g}s"
    except Exception as exc:
        log.exception("probe of %s failed unexpectedly", target.name)
        reason = f"probe error: {type(exc).__name__}"
    return ProbeResult(success=False, duration_s=time.perf_counter() - started, reason=reason)


class Scheduler:
    def __init__(self, concurrency: int, on_result: ResultHandler,
                 on_removed: Callable[[int], None]) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self.states: dict[int, TargetState] = {}
        self.on_result = on_result
        self.on_removed = on_removed

    def update(self, targets: list[Target]) -> None:
        """Start new targets, restart changed ones, stop removed ones; keep known states."""
        wanted = {target.server_id: target for target in targets}
        for server_id in list(self.states):
            if server_id not in wanted:
                state = self.states.pop(server_id)
                if state.task:
                    state.task.cancel()
                self.on_removed(server_id)
        for server_id, target in wanted.items():
            state = self.states.get(server_id)
            if state is not None and state.target == target and state.task and \
                    not state.task.done():
                continue
            if state is None:
                state = self.states[server_id] = TargetState(target=target)
            else:
                if state.task:
                    state.task.cancel()
                state.target = target
            state.task = asyncio.get_running_loop().create_task(self._loop(state))
        health.TARGETS.set(len(self.states))

    async def _loop(self, state: TargetState) -> None:
        loop = asyncio.get_running_loop()
        interval = state.target.interval_s
        now = loop.time()
        due = now - (now % interval) + phase(state.target.server_id, interval)
        if due < now:
            due += interval
        while True:
            await asyncio.sleep(due - loop.time())
            await self._probe_once(state, due)
            due += interval
            behind = loop.time() - due
            if behind > 0:  # fell a whole interval behind: skip, do not burst to catch up
                due += (int(behind // interval) + 1) * interval

    async def _probe_once(self, state: TargetState, due: float) -> None:
        loop = asyncio.get_running_loop()
        target = state.target
        async with self.semaphore:
            health.LATENESS.observe(max(loop.time() - due, 0.0))
            checked_at = datetime.now(UTC)
            result = await run_probe(target)
        if not result.success and target.confirm_down and state.status != "down":
            await asyncio.sleep(CONFIRM_DELAY_S)
            async with self.semaphore:
                result = await run_probe(target)
        health.PROBES.labels(target.kind, "success" if result.success else "failure").inc()
        previous = state.status
        state.result, state.checked_at = result, checked_at
        state.status = "up" if result.success else "down"
        if result.success:
            state.last_ok_at = checked_at
        outcome = self.on_result(state, previous)
        if outcome is not None:
            await outcome

    async def stop(self) -> None:
        tasks = [state.task for state in self.states.values() if state.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
