"""TCP connect, with an optional TLS handshake whose certificates are recorded, and
blackbox's ``query_response`` dialogue when the server has one (exporter/probes/tcp_dialogue.py).

A bare protocol rather than asyncio streams when there is no dialogue: the probe then only
needs the connection to open (and the handshake to finish), not a reader and writer it
would throw away. The name is resolved here, to the family ``ip_protocol`` asks for, and
the probe connects to the addresses the probe policy was checked on.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from exporter.probes import policy
from exporter.probes.address import address_facts
from exporter.probes.http_options import keep_family, no_address_reason, ssl_context
from exporter.probes.reasons import connection_failure
from exporter.probes.result import ProbeResult, fail, failure
from exporter.probes.tcp_dialogue import open_stream, run_dialogue
from exporter.probes.tls import peer_tls, verify_failure
from exporter.targets import Target
from wire import split_host_port
from wire.probe_policy import literal_address


class _NoAddress(OSError):
    """The name has no address of the family ``ip_protocol`` asks for."""


async def _connect(target: Target, host: str, port: int, context: ssl.SSLContext | None,
                   lookup: list[float]) -> tuple[asyncio.BaseTransport | asyncio.StreamWriter,
                                                 asyncio.StreamReader | None, str]:
    """The first of the name's checked addresses that accepts, as create_connection tries
    them: its transport (or, for a dialogue, its stream's reader and writer) and that
    address; its last error when none does. ``lookup`` gets the time the name took to
    resolve (nothing for a literal address)."""
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    started = time.perf_counter()
    addresses = keep_family(await policy.resolve(host, port), target.ip_protocol)
    if literal_address(host) is None:
        lookup.append(time.perf_counter() - started)
    if not addresses:
        raise _NoAddress(no_address_reason(host, target.ip_protocol))
    for address in addresses:
        try:
            if target.tcp_query_response:
                reader, writer = await open_stream(address, port, ssl_context=context,
                                                   server_hostname=host)
                return writer, reader, address
            transport, _ = await loop.create_connection(
                asyncio.Protocol, address, port, ssl=context,
                server_hostname=host if context else None)
            return transport, None, address
        except OSError as exc:
            error = exc
    raise error or OSError(f"{host} has no address")


async def probe_tcp(target: Target) -> ProbeResult:
    started = time.perf_counter()
    host, port = split_host_port(target.address)
    tls_context = ssl_context(target.tls_verify, target.tls_client_cert, target.tls_client_key)
    context = tls_context if target.tcp_tls else None
    lookup: list[float] = []
    problem = None
    try:
        async with asyncio.timeout(target.timeout_s):
            transport, reader, address = await _connect(target, host, port, context, lookup)
            if reader is not None:
                try:
                    problem = await run_dialogue(reader, transport, target.tcp_query_response,
                                                 ssl_context=tls_context, server_hostname=host)
                except BaseException:
                    transport.close()
                    raise
    except TimeoutError:
        return failure(started, time.perf_counter(), "timeout",
                       f"timeout after {target.timeout_s:g}s")
    except policy.Denied as exc:
        return failure(started, time.perf_counter(), "denied", str(exc))
    except _NoAddress as exc:
        return failure(started, time.perf_counter(), "dns_no_record", str(exc))
    except ssl.SSLCertVerificationError as exc:
        return failure(started, time.perf_counter(), *verify_failure(exc))
    except (OSError, ssl.SSLError) as exc:
        return failure(started, time.perf_counter(), *connection_failure(exc))
    duration = time.perf_counter() - started
    # After a dialogue's starttls the stream is TLS too: its certificates count.
    ssl_object = transport.get_extra_info("ssl_object")
    tls = peer_tls(ssl_object, target.tls_verify) if ssl_object is not None else None
    transport.close()
    facts = address_facts(address)
    result = ProbeResult(
        success=True, duration_s=duration, dns_lookup_s=lookup[0] if lookup else None,
        ip_protocol=facts[0] if facts else None, ip_addr_hash=facts[1] if facts else None,
        cert_expiry=tls.earliest_expiry if tls else None,
        tls_version=tls.version if tls else None, tls_peer=tls.leaf if tls else None,
        chain_expiry=tls.chain_expiry if tls else None)
    if target.tcp_query_response:
        # blackbox's meaning: whether a step of the dialogue failed
        result.failed_due_to_regex = int(problem is not None)
    if problem is not None:
        fail(result, "query_response", problem)
    return result
