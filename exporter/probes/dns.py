"""DNS: resolve a record type, optionally compare the answer with what is expected.

With a resolver named, dnspython's async resolver asks it directly. Without one, the
probe asks the system resolver the way applications on this host do: A and AAAA go
through getaddrinfo (so /etc/hosts and nsswitch count, and ``localhost`` resolves),
other record types go to the name servers in /etc/resolv.conf. getaddrinfo runs in its
own small thread pool so that slow lookups cannot starve aiohttp's resolver threads.

``probe_dns_lookup_time_seconds`` is the lookup itself here (blackbox's is the time taken
to resolve the DNS server's name, which is ``probe_dns_duration_seconds{phase="resolve"}``
here). Through dnspython the answer's record counts, the server's address and the
request's time are known; through getaddrinfo only the time and the addresses are, so
the other DNS metrics are left out rather than guessed. blackbox's ``connect`` phase is
left out too: dnspython sends the query without a separate connect.
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
from exporter.probes.address import address_facts
from exporter.probes.dns_options import needs_dnspython, query, target_answer_problem
from exporter.probes.http_options import keep_family, no_address_reason
from exporter.probes.reasons import connection_reason
from exporter.probes.result import ProbeResult, fail, failure
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


class _ResolverUnknown(Exception):
    """The named resolver's own name did not resolve (not the name queried)."""


class _Lookup:
    """What one lookup measured besides its answers."""

    __slots__ = ("counts", "problem", "request_s", "resolve_s", "server")

    def __init__(self) -> None:
        self.counts: tuple[int, int, int] | None = None  # answer, authority, additional RRs
        self.problem: str | None = None  # the answer records failed the answer regexes
        self.resolve_s: float | None = None  # the named resolver's own name, looked up
        self.request_s: float | None = None
        self.server: str | None = None


async def _named_resolver(value: str, ip_protocol: str,
                          lookup: _Lookup) -> dns.asyncresolver.Resolver:
    """The resolver at ``value``, reached over the family ``ip_protocol`` asks for."""
    host, port = split_host_port(value, default_port=53)
    started = time.perf_counter()
    try:
        addresses = keep_family(await policy.resolve(host, port, socket.SOCK_DGRAM), ip_protocol)
    except policy.Denied:
        raise
    except OSError as exc:
        raise _ResolverUnknown(f"DNS resolver {host}: {connection_reason(exc)}") from exc
    if not addresses:
        raise _ResolverUnknown(f"DNS resolver {no_address_reason(host, ip_protocol)}")
    lookup.resolve_s = time.perf_counter() - started
    lookup.server = addresses[0]
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


def _rrs(section) -> int:
    return sum(len(rrset) for rrset in section)


async def _via_dnspython(target: Target, lookup: _Lookup) -> list[str]:
    if target.dns_resolver:
        resolver = await _named_resolver(target.dns_resolver, target.ip_protocol, lookup)
    else:
        resolver = _system_resolver()
    started = time.perf_counter()
    answer = await query(resolver, _query_name(target), target.dns_record_type,
                         transport=target.dns_transport, lifetime=target.timeout_s)
    lookup.request_s = time.perf_counter() - started
    response = answer.response
    lookup.counts = (_rrs(response.answer), _rrs(response.authority), _rrs(response.additional))
    lookup.problem = target_answer_problem(target, response)
    return [rdata.to_text() for rdata in answer]


def _gai_failure(exc: socket.gaierror, record_type: str) -> tuple[str, str]:
    if exc.errno == socket.EAI_NONAME:
        return "nxdomain", "DNS NXDOMAIN"
    if exc.errno == getattr(socket, "EAI_NODATA", -5):
        return "dns_no_record", f"DNS no {record_type} record"
    if exc.errno == socket.EAI_AGAIN:
        return "dns_error", "DNS temporary failure: no answer from the system resolver"
    return "dns_error", f"DNS lookup failed: {exc.strerror}"


def _no_nameservers_failure(exc: dns.resolver.NoNameservers) -> tuple[str, str]:
    text = str(exc)
    return next((("dns_rcode", f"DNS {rcode}") for rcode in _RCODES if rcode in text),
                ("dns_error", "DNS server failure"))


async def _answers(target: Target, lookup: _Lookup) -> list[str]:
    if not target.dns_resolver and target.dns_record_type in _FAMILIES \
            and not needs_dnspython(target):
        return await _via_getaddrinfo(target)
    return await _via_dnspython(target, lookup)


def _failure(started: float, lookup: _Lookup, code: str, reason: str,
             answered: bool) -> ProbeResult:
    """``answered``: a server answered (NXDOMAIN, no record, an error code), which is
    blackbox's probe_dns_query_succeeded even though the probe fails."""
    return failure(started, time.perf_counter(), code, reason, **_measured(lookup),
                   dns_query_succeeded=int(answered))


def _measured(lookup: _Lookup) -> dict:
    phases = {name: value for name, value in (("resolve", lookup.resolve_s),
                                              ("request", lookup.request_s))
              if value is not None}
    facts = address_facts(lookup.server) if lookup.server else None
    return {"dns_phases": phases or None, "ip_protocol": facts[0] if facts else None,
            "ip_addr_hash": facts[1] if facts else None}


async def probe_dns(target: Target) -> ProbeResult:
    started = time.perf_counter()
    record_type = target.dns_record_type
    lookup = _Lookup()
    try:
        async with asyncio.timeout(target.timeout_s):
            answers = await _answers(target, lookup)
    except (TimeoutError, dns.resolver.LifetimeTimeout):
        return _failure(started, lookup, "timeout", f"DNS timeout after {target.timeout_s:g}s",
                        answered=False)
    except dns.resolver.NXDOMAIN:
        return _failure(started, lookup, "nxdomain", "DNS NXDOMAIN", answered=True)
    except dns.resolver.NoAnswer:
        return _failure(started, lookup, "dns_no_record", f"DNS no {record_type} record",
                        answered=True)
    except dns.resolver.NoNameservers as exc:
        code, reason = _no_nameservers_failure(exc)
        return _failure(started, lookup, code, reason, answered=code == "dns_rcode")
    except dns.resolver.NoResolverConfiguration:
        return _failure(started, lookup, "dns_error", "DNS no system resolver configured",
                        answered=False)
    except socket.gaierror as exc:
        code, reason = _gai_failure(exc, record_type)
        return _failure(started, lookup, code, reason,
                        answered=code in ("nxdomain", "dns_no_record"))
    except policy.Denied as exc:
        return _failure(started, lookup, "denied", str(exc), answered=False)
    except _ResolverUnknown as exc:
        return _failure(started, lookup, "dns_error", str(exc), answered=False)
    except dns.exception.DNSException as exc:
        return _failure(started, lookup, "dns_error", f"DNS error: {exc}", answered=False)
    except OSError as exc:
        return _failure(started, lookup, "unreachable", f"DNS resolver unreachable: {exc}",
                        answered=False)
    duration = time.perf_counter() - started
    counts = lookup.counts
    result = ProbeResult(
        success=True, duration_s=duration, dns_lookup_s=duration,
        dns_query_succeeded=1, dns_answer_rrs=counts[0] if counts else None,
        dns_authority_rrs=counts[1] if counts else None,
        dns_additional_rrs=counts[2] if counts else None, **_measured(lookup))
    if target.dns_expected:
        expected = _normalise(target.dns_expected)
        if not any(expected in _forms(answer) for answer in answers):
            shown = ", ".join(sorted(answers)[:3])
            fail(result, "dns_answer", f"DNS answer {shown} is not {target.dns_expected}")
            return result
    if lookup.problem is not None:
        fail(result, "dns_answer", f"DNS {lookup.problem}")
    return result
