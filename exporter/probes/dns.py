"""DNS: resolve a record type, optionally compare the answer with what is expected."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from functools import cache

import dns.asyncresolver
import dns.exception
import dns.resolver
import dns.reversename

from exporter.probes.result import ProbeResult, failure
from exporter.targets import Target


def split_resolver(value: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``v6`` or ``[v6]:port``."""
    if value.startswith("["):
        host, _, port = value[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, 53


async def _resolver(target: Target) -> dns.asyncresolver.Resolver:
    if not target.dns_resolver:
        return _system_resolver()
    host, port = split_resolver(target.dns_resolver)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        host = infos[0][4][0]
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    return resolver


@cache
def _system_resolver() -> dns.asyncresolver.Resolver:
    return dns.asyncresolver.Resolver()


def _normalise(text: str) -> str:
    return text.strip().strip('"').rstrip(".").lower()


def _query_name(target: Target) -> str:
    if target.dns_record_type == "PTR" and not target.address.endswith(".arpa"):
        try:
            return dns.reversename.from_address(target.address).to_text()
        except (dns.exception.SyntaxError, ValueError):
            return target.address
    return target.address


async def probe_dns(target: Target) -> ProbeResult:
    started = time.perf_counter()
    try:
        resolver = await _resolver(target)
        answer = await resolver.resolve(
            _query_name(target), target.dns_record_type, lifetime=target.timeout_s,
            raise_on_no_answer=True)
    except dns.resolver.NXDOMAIN:
        return failure(started, time.perf_counter(), "DNS NXDOMAIN")
    except dns.resolver.NoAnswer:
        return failure(started, time.perf_counter(), f"DNS no {target.dns_record_type} record")
    except dns.resolver.LifetimeTimeout:
        return failure(started, time.perf_counter(), f"DNS timeout after {target.timeout_s:g}s")
    except dns.resolver.NoNameservers:
        return failure(started, time.perf_counter(), "DNS SERVFAIL")
    except dns.exception.DNSException as exc:
        return failure(started, time.perf_counter(), f"DNS error: {exc}"[:200])
    except OSError as exc:
        return failure(started, time.perf_counter(), f"DNS resolver unreachable: {exc}"[:200])
    lookup = time.perf_counter() - started
    result = ProbeResult(success=True, duration_s=lookup, dns_lookup_s=lookup)
    if target.dns_expected:
        expected = _normalise(target.dns_expected)
        answers = [_normalise(rdata.to_text()) for rdata in answer]
        if expected not in answers:
            result.success = False
            shown = ", ".join(answers[:3])
            result.reason = f"DNS answer {shown!r} is not {target.dns_expected!r}"[:200]
    return result
