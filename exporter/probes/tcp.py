"""TCP connect, with an optional TLS handshake whose certificate expiry is recorded.

A bare protocol rather than asyncio streams: the probe only needs the connection to open
(and the handshake to finish), not a reader and writer it would throw away.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from exporter.probes.reasons import connection_reason
from exporter.probes.result import ProbeResult, failure
from exporter.probes.tls import client_context, peer_cert_expiry, verify_reason
from exporter.targets import Target
from wire import split_host_port


async def probe_tcp(target: Target) -> ProbeResult:
    started = time.perf_counter()
    host, port = split_host_port(target.address)
    context = client_context(target.tls_verify) if target.tcp_tls else None
    try:
        async with asyncio.timeout(target.timeout_s):
            transport, _ = await asyncio.get_running_loop().create_connection(
                asyncio.Protocol, host, port, ssl=context,
                server_hostname=host if context else None)
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
