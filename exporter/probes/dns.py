"""DNS: resolve a record type, optionally compare the answer with what is expected.

With a resolver named, dnspython's async resolver asks it directly. Without one, the
probe asks the system resolver the way applications on this host do: A and AAAA go
through getaddrinfo (so /etc/hosts and nsswitch count, and ``localhost`` resolves),
other record types go to the name servers in /etc/resolv.conf. getaddrinfo runs in its
own small thread pool so that slow lookups cannot starve aiohttp's resolver threads.
"""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import dns.asyncresolver
import dns.exception
import dns.resolver
import dns.reversename

from exporter.probes import policy
from exporter.probes.result import ProbeResult, failure
from exporter.targets import Target
from wire import split_host_port

_FAMILIES = {"A": socket.AF_INET, "AAAA": socket.AF_INET6}
_LOOKUP_THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="dns-probe")
_RCODES = ("SERVFAIL", "REFUSED", "NOTIMP", "FORMERR")


@lru_cache(maxsize=1)
def _system_resolver() -> dns.asyncresolver.Resolver:
    return dns.asyncresolver.Resolver()


@lru_cache(maxsize=256)
def _resolver_at(address: str, port: int) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [address]
    resolver.port = port
    return resolver


async def _named_resolver(value: str) -> dns.asyncresolver.Resolver:
    host, port = split_host_port(value, default_port=53)
    addresses = await policy.resolve(host, port, socket.SOCK_DGRAM)
    return _resolver_at(addresses[0], port)


def _normalise(text: str) -> str:
    return text.strip().strip('"').rstrip(".").lower()


def _forms(answer_text: str) -> set[str]:
    """The whole answer and its last field: ``10 mx.bank.test.`` matches ``mx.bank.test``."""
    return {_normalise(answer_text), _normalise(answer_text.rsplit(" ", 1)[-1])}


def _query_name(target: Target) -> str:
    if target.dns_record_type == "PTR" and not target.address.endswith(".arpa"):
        try:
            return dns.reversename.from_address(target.address).to_text()
        except (dns.exception.SyntaxError, ValueError):
            return target.address
    return target.address


async def _via_getaddrinfo(target: Target) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.run_in_executor(
        _LOOKUP_THREADS, socket.getaddrinfo, target.address, None,
        _FAMILIES[target.dns_record_type], socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


async def _via_dnspython(target: Target) -> list[str]:
    if target.dns_resolver:
        resolver = await _named_resolver(target.dns_resolver)
    else:
        resolver = _system_resolver()
    answer = await resolver.resolve(_query_name(target), target.dns_record_type,
                                    lifetime=target.timeout_s, search=False)
    return [rdata.to_text() for rdata in answer]


def _gai_reason(exc: socket.gaierror, record_type: str) -> str:
    if exc.errno == socket.EAI_NONAME:
        return "DNS NXDOMAIN"
    if exc.errno == getattr(socket, "EAI_NODATA", -5):
        return f"DNS no {record_type} record"
    if exc.errno == socket.EAI_AGAIN:
        return "DNS temporary failure: no answer from the system resolver"
    return f"DNS lookup failed: {exc.strerror}"


def _no_nameservers_reason(exc: dns.resolver.NoNameservers) -> str:
    text = str(exc)
    return next((f"DNS {rcode}" for rcode in _RCODES if rcode in text), "DNS server failure")


async def _answers(target: Target) -> list[str]:
    if not target.dns_resolver and target.dns_record_type in _FAMILIES:
        return await _via_getaddrinfo(target)
    return await _via_dnspython(target)


async def probe_dns(target: Target) -> ProbeResult:
    started = time.perf_counter()
    record_type = target.dns_record_type
    try:
        async with asyncio.timeout(target.timeout_s):
            answers = await _answers(target)
    except (TimeoutError, dns.resolver.LifetimeTimeout):
        return failure(started, time.perf_counter(), f"DNS timeout after {target.timeout_s:g}s")
    except dns.resolver.NXDOMAIN:
        return failure(started, time.perf_counter(), "DNS NXDOMAIN")
    except dns.resolver.NoAnswer:
        return failure(started, time.perf_counter(), f"DNS no {record_type} record")
    except dns.resolver.NoNameservers as exc:
        return failure(started, time.perf_counter(), _no_nameservers_reason(exc))
    except dns.resolver.NoResolverConfiguration:
        return failure(started, time.perf_counter(), "DNS no system resolver configured")
    except socket.gaierror as exc:
        return failure(started, time.perf_counter(), _gai_reason(exc, record_type))
    except policy.Denied as exc:
        return failure(started, time.perf_counter(), str(exc))
    except dns.exception.DNSException as exc:
        return failure(started, time.perf_counter(), f"DNS error: {exc}")
    except OSError as exc:
        return failure(started, time.perf_counter(), f"DNS resolver unreachable: {exc}")
    lookup = time.perf_counter() - started
    result = ProbeResult(success=True, duration_s=lookup, dns_lookup_s=lookup)
    if target.dns_expected:
        expected = _normalise(target.dns_expected)
        if not any(expected in _forms(answer) for answer in answers):
            shown = ", ".join(sorted(answers)[:3])
            result.success = False
            result.reason = f"DNS answer {shown} is not {target.dns_expected}"[:200]
    return result
