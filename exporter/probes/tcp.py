"""TCP connect, with an optional TLS handshake whose certificate expiry is recorded.

A bare protocol rather than asyncio streams: the probe only needs the connection to open
(and the handshake to finish), not a reader and writer it would throw away. The name is
resolved here and the probe connects to the addresses the probe policy was checked on.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from exporter.probes import policy
from exporter.probes.reasons import connection_reason
from exporter.probes.result import ProbeResult, failure
from exporter.probes.tls import client_context, peer_cert_expiry, verify_reason
from exporter.targets import Target
from wire import split_host_port


async def _connect(host: str, port: int, context: ssl.SSLContext | None) -> asyncio.BaseTransport:
    """The first of the name's checked addresses that accepts, as create_connection tries
    them; its last error when none does."""
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for address in await policy.resolve(host, port):
        try:
            transport, _ = await loop.create_connection(
                asyncio.Protocol, address, port, ssl=context,
                server_hostname=host if context else None)
            return transport
        except OSError as exc:
            error = exc
    raise error or OSError(f"{host} has no address")


async def probe_tcp(target: Target) -> ProbeResult:
    started = time.perf_counter()
    host, port = split_host_port(target.address)
    context = client_context(target.tls_verify) if target.tcp_tls else None
    try:
        async with asyncio.timeout(target.timeout_s):
            transport = await _connect(host, port, context)
    except TimeoutError:
        return failure(started, time.perf_counter(), f"timeout after {target.timeout_s:g}s")
    except ssl.SSLCertVerificationError as exc:
        return failure(started, time.perf_counter(), verify_reason(exc))
    except (OSError, ssl.SSLError) as exc:
        return failure(started, time.perf_counter(), connection_reason(exc))
    duration = time.perf_counter() - started
    expiry = peer_cert_expiry(transport.get_extra_info("ssl_object")) if context else None
    transport.close()
    return ProbeResult(success=True, duration_s=duration, cert_expiry=expiry)
