"""TCP connect, with an optional TLS handshake whose certificates are recorded.

A bare protocol rather than asyncio streams: the probe only needs the connection to open
(and the handshake to finish), not a reader and writer it would throw away. The name is
resolved here and the probe connects to the addresses the probe policy was checked on.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from exporter.probes import policy
from exporter.probes.address import address_facts
from exporter.probes.reasons import connection_failure
from exporter.probes.result import ProbeResult, failure
from exporter.probes.tls import client_context, peer_tls, verify_failure
from exporter.targets import Target
from wire import split_host_port
from wire.probe_policy import literal_address


async def _connect(host: str, port: int, context: ssl.SSLContext | None,
                   lookup: list[float]) -> tuple[asyncio.BaseTransport, str]:
    """The first of the name's checked addresses that accepts, as create_connection tries
    them, and that address; its last error when none does. ``lookup`` gets the time the
    name took to resolve (nothing for a literal address)."""
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    started = time.perf_counter()
    addresses = await policy.resolve(host, port)
    if literal_address(host) is None:
        lookup.append(time.perf_counter() - started)
    for address in addresses:
        try:
            transport, _ = await loop.create_connection(
                asyncio.Protocol, address, port, ssl=context,
                server_hostname=host if context else None)
            return transport, address
        except OSError as exc:
            error = exc
    raise error or OSError(f"{host} has no address")


async def probe_tcp(target: Target) -> ProbeResult:
    started = time.perf_counter()
    host, port = split_host_port(target.address)
    context = client_context(target.tls_verify) if target.tcp_tls else None
    lookup: list[float] = []
    try:
        async with asyncio.timeout(target.timeout_s):
            transport, address = await _connect(host, port, context, lookup)
    except TimeoutError:
        return failure(started, time.perf_counter(), "timeout",
                       f"timeout after {target.timeout_s:g}s")
    except policy.Denied as exc:
        return failure(started, time.perf_counter(), "denied", str(exc))
    except ssl.SSLCertVerificationError as exc:
        return failure(started, time.perf_counter(), *verify_failure(exc))
    except (OSError, ssl.SSLError) as exc:
        return failure(started, time.perf_counter(), *connection_failure(exc))
    duration = time.perf_counter() - started
    tls = peer_tls(transport.get_extra_info("ssl_object"), target.tls_verify) if context \
        else None
    transport.close()
    facts = address_facts(address)
    return ProbeResult(
        success=True, duration_s=duration, dns_lookup_s=lookup[0] if lookup else None,
        ip_protocol=facts[0] if facts else None, ip_addr_hash=facts[1] if facts else None,
        cert_expiry=tls.earliest_expiry if tls else None,
        tls_version=tls.version if tls else None, tls_peer=tls.leaf if tls else None,
        chain_expiry=tls.chain_expiry if tls else None)
