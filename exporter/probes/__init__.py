"""One probe per kind, one signature: ``async def probe(target: Target) -> ProbeResult``.

``run_probe`` is how everything else calls them: the kind is looked up in ``PROBES``,
a hard timeout ends a probe that ignores its own, and an unexpected error becomes a
reason on a failed result instead of an exception in the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from exporter.probes.dns import probe_dns
from exporter.probes.http import probe_http
from exporter.probes.icmp import probe_icmp
from exporter.probes.result import ProbeResult
from exporter.probes.tcp import probe_tcp
from exporter.targets import Target

log = logging.getLogger(__name__)

Probe = Callable[[Target], Awaitable[ProbeResult]]

PROBES: dict[str, Probe] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "icmp": probe_icmp,
    "dns": probe_dns,
}

GRACE_S = 1.0  # beyond the target's own timeout, before the probe is cancelled outright


async def run_probe(target: Target) -> ProbeResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(target.timeout_s + GRACE_S):
            return await PROBES[target.kind](target)
    except TimeoutError:
        code, reason = "timeout", f"timeout after {target.timeout_s:g}s"
    except Exception as exc:
        log.exception("probe of %s (%s) failed unexpectedly", target.name, target.address)
        code, reason = "error", f"probe error: {type(exc).__name__}"
    return ProbeResult(success=False, duration_s=time.perf_counter() - started, reason=reason,
                       reason_code=code)


__all__ = ["PROBES", "Probe", "ProbeResult", "run_probe"]
