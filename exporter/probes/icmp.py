"""ICMP echo: loss and round-trip time.

Unprivileged ICMP sockets (Linux's ping_group_range) where the OS allows them; raw
sockets when running as root; otherwise a clear reason rather than a silent failure.
"""

from __future__ import annotations

import os
import time

from icmplib import async_ping
from icmplib.exceptions import ICMPLibError, NameLookupError, SocketPermissionError

from exporter.probes.result import ProbeResult, failure
from exporter.targets import Target

COUNT = 3
_privileged: bool | None = None  # learnt on first use: which socket kind this host allows


async def _ping(target: Target, privileged: bool):
    return await async_ping(target.address, count=COUNT, interval=0.2,
                            timeout=max(target.timeout_s - 0.4, 0.5), privileged=privileged)


async def probe_icmp(target: Target) -> ProbeResult:
    global _privileged
    started = time.perf_counter()
    modes = [_privileged] if _privileged is not None else [False, True]
    host = None
    for privileged in modes:
        if privileged and os.geteuid() != 0:
            break
        try:
            host = await _ping(target, privileged)
            _privileged = privileged
            break
        except SocketPermissionError:
            continue
        except NameLookupError:
            return failure(started, time.perf_counter(), "DNS lookup failed: name not found")
        except ICMPLibError as exc:
            return failure(started, time.perf_counter(), f"ICMP error: {exc}"[:200])
    if host is None:
        return failure(started, time.perf_counter(),
                       "ICMP not permitted: allow unprivileged ping (net.ipv4.ping_group_range) "
                       "or run as root")
    loss = host.packet_loss
    if host.packets_received == 0:
        return failure(started, time.perf_counter(), "no echo reply (100% loss)",
                       icmp_loss_ratio=1.0)
    return ProbeResult(success=True, duration_s=host.avg_rtt / 1000, icmp_loss_ratio=loss,
                       icmp_rtt_s=host.avg_rtt / 1000)
