"""One probe per kind, one signature: ``async def probe(target) -> ProbeResult``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from exporter.probes.dns import probe_dns
from exporter.probes.http import probe_http
from exporter.probes.icmp import probe_icmp
from exporter.probes.result import ProbeResult
from exporter.probes.tcp import probe_tcp
from exporter.targets import Target

PROBES: dict[str, Callable[[Target], Awaitable[ProbeResult]]] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "icmp": probe_icmp,
    "dns": probe_dns,
}

__all__ = ["PROBES", "ProbeResult"]
