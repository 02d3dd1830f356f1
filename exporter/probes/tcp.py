"""TCP connect, with an optional TLS handshake."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time

from exporter.probes.reasons import connection_reason
from exporter.probes.result import ProbeResult, failure
from exporter.probes.tls import client_context, describe_ssl_error, peer_cert_expiry
from exporter.targets import Target


def split_address(address: str) -> tuple[str, int]:
    if address.startswith("["):
        host, _, port = address[1:].partition("]:")
    else:
        host, _, port = address.rpartition(":")
    return host, int(port)


async def probe_tcp(target: Target) -> ProbeResult:
    started = time.perf_counter()
    host, port = split_address(target.address)
    context = client_context(target.tls_verify) if target.tcp_tls else None
    try:
        async with asyncio.timeout(target.timeout_s):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=host if context else None)
    except TimeoutError:
        return failure(started, time.perf_counter(), f"timeout after {target.timeout_s:g}s")
    except ssl.SSLCertVerificationError as exc:
        return failure(started, time.perf_counter(), describe_ssl_error(exc))
    except (OSError, ssl.SSLError) as exc:
        return failure(started, time.perf_counter(), connection_reason(exc))
    expiry = peer_cert_expiry(writer.get_extra_info("ssl_object")) if context else None
    duration = time.perf_counter() - started
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    del reader
    return ProbeResult(success=True, duration_s=duration, cert_expiry=expiry)
