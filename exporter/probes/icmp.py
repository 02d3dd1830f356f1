"""ICMP echo: loss ratio, round-trip time and the reply's hop limit, through icmplib
(exporter/probes/icmp_echo.py receives the replies, to read their hop limit).

Unprivileged ICMP sockets (SOCK_DGRAM, allowed by Linux's net.ipv4.ping_group_range)
where the OS allows them, raw sockets when running as root, otherwise a clear reason
rather than a silent failure. Which of the two works is learnt on the first probe.

Of blackbox's ICMP metrics, ``probe_icmp_duration_seconds{phase="setup"}`` is not
written: the socket is made with the pings, whose time is all the round trips'.
"""

from __future__ import annotations

import os
import time
from socket import SOCK_DGRAM

from icmplib.exceptions import ICMPLibError, SocketPermissionError

from exporter.probes import policy
from exporter.probes.address import address_facts
from exporter.probes.http_options import keep_family, no_address_reason
from exporter.probes.icmp_echo import echo
from exporter.probes.reasons import connection_failure
from exporter.probes.result import ProbeResult, failure
from exporter.targets import Target
from wire.probe_policy import literal_address

COUNT = 3
INTERVAL_S = 0.2
NOT_PERMITTED = ("ICMP not permitted: allow unprivileged ping (sysctl "
                 "net.ipv4.ping_group_range) or run the exporter as root")


class _Mode:
    privileged: bool | None = None  # None until a probe has found what this host allows


def _modes() -> list[bool]:
    if _Mode.privileged is not None:
        return [_Mode.privileged]
    return [False, True] if os.geteuid() == 0 else [False]


async def probe_icmp(target: Target) -> ProbeResult:
    started = time.perf_counter()
    wait = max(target.timeout_s - INTERVAL_S * (COUNT - 1), 0.1)
    try:
        # Resolved here, so that the address pinged is the one the policy allowed.
        addresses = keep_family(await policy.resolve(target.address, None, SOCK_DGRAM),
                                target.ip_protocol)
    except policy.Denied as exc:
        return failure(started, time.perf_counter(), "denied", str(exc))
    except OSError as exc:
        return failure(started, time.perf_counter(), *connection_failure(exc))
    if not addresses:
        return failure(started, time.perf_counter(), "dns_no_record",
                       no_address_reason(target.address, target.ip_protocol))
    address = addresses[0]
    resolved = time.perf_counter()
    lookup = None if literal_address(target.address) is not None else resolved - started
    facts = address_facts(address)
    measured = {"dns_lookup_s": lookup, "ip_protocol": facts[0] if facts else None,
                "ip_addr_hash": facts[1] if facts else None}
    echoes = None
    for privileged in _modes():
        try:
            echoes = await echo(address, count=COUNT, interval_s=INTERVAL_S, timeout_s=wait,
                                privileged=privileged)
        except SocketPermissionError:
            continue
        except (ICMPLibError, OSError) as exc:
            return failure(started, time.perf_counter(), "error", f"ICMP error: {exc}",
                           **measured)
        _Mode.privileged = privileged
        break
    if echoes is None:
        return failure(started, time.perf_counter(), "icmp_not_permitted", NOT_PERMITTED)
    duration = time.perf_counter() - started
    if not echoes.rtts_s:
        return ProbeResult(success=False, duration_s=duration, icmp_loss_ratio=1.0,
                           reason=f"no echo reply ({COUNT} sent)", reason_code="no_reply",
                           **measured)
    rtt = sum(echoes.rtts_s) / len(echoes.rtts_s)
    phases = {"rtt": rtt}
    if lookup is not None:
        phases["resolve"] = lookup
    return ProbeResult(success=True, duration_s=duration, icmp_loss_ratio=echoes.loss_ratio,
                       icmp_rtt_s=rtt, icmp_phases=phases,
                       icmp_reply_hop_limit=echoes.hop_limit, **measured)
