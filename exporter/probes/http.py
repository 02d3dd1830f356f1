"""HTTP and HTTPS: status, keyword or regex in the body, latency limit, TLS facts.

All probes share one aiohttp session (its connector, TLS contexts and C parser are set up
once), but each probe opens a fresh connection, as the blackbox exporter does: a server
that stopped accepting connections is seen at once instead of hiding behind a kept-alive
socket, and the TLS handshake, hence the certificate, is checked on every probe. Cookies
are never kept, so one server's cookies cannot leak into another's probe. Name lookups
are cached for ten seconds to spare the resolver at 10,000 targets.

The probe target policy (exporter/probes/policy.py) is applied to every connection,
redirects included: to the addresses a name resolves to, in the resolver, and to a
literal address before connecting to it.

A keyword is looked for in the body, so a hostile or careless keyword must not stall the
loop that every other probe runs on. The body is read up to ``MAX_BODY``, which bounds
each probe's memory and the text searched. Regexes are RE2 (``wire.keyword_regex``), not
Python's ``re``, whose backtracking takes seconds for ``^(a+)+$`` against 26 a's and a
"!". RE2's time is linear in the body, but for some valid patterns (``(?s).*a.{400}c``)
linear still meant seconds per MiB, and RE2 lets go of the GIL while it searches, so
regex searches run in a few threads of their own, beside the loop; a search outlasting
the probe's timeout ends the probe as any timeout does (``run_probe``), its thread left to
finish. The threads are not the loop's default executor, which resolves host names.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from functools import lru_cache

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from exporter.probes import policy
from exporter.probes.address import address_facts
from exporter.probes.http_options import family, keep_family, no_address_reason, request_kwargs
from exporter.probes.reasons import connection_failure
from exporter.probes.result import ProbeResult, fail, failure
from exporter.probes.tls import peer_tls, verify_failure
from exporter.targets import Target
from wire import keyword_regex
from wire.probe_policy import literal_address

MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 10
USER_AGENT = "servermon-exporter/1"
REGEX_THREADS = 4

_searches = ThreadPoolExecutor(REGEX_THREADS, thread_name_prefix="keyword-regex")

# Measurements of the probe running in this task, filled in by the connector and resolver:
# seconds per phase, and the last connection's peer address and TLS facts.
_marks: ContextVar[dict | None] = ContextVar("servermon_http_marks", default=None)


def _add(marks: dict | None, name: str, seconds: float) -> None:
    if marks is not None:
        marks[name] = marks.get(name, 0.0) + seconds


class _TimedResolver(AbstractResolver):
    """aiohttp's default resolver, timed into the running probe's ``resolve`` phase, and
    refusing names with an address the probe policy denies."""

    def __init__(self) -> None:
        self.inner = aiohttp.DefaultResolver()

    async def resolve(self, host, port=0, family=0):
        started = time.perf_counter()
        try:
            results = await self.inner.resolve(host, port, family)
        finally:
            _add(_marks.get(), "resolve", time.perf_counter() - started)
        for result in results:
            policy.check(result["host"], port)
        return results

    async def close(self) -> None:
        await self.inner.close()


_CERT_ERRORS = (ssl.CertificateError,)  # aiohttp's cert_errors and ssl_errors
_SSL_ERRORS = (ssl.SSLError,)


class _MeasuringConnector(aiohttp.TCPConnector):
    """Times each new connection, TCP and TLS apart, and reads its peer's address and
    certificates as it opens.

    A small response is read and its connection released before the caller sees it, so
    the certificate can only be taken here. Across redirects the earliest expiry wins;
    the other TLS facts and the address are the last connection's, the final response's.
    """

    async def _wrap_create_connection(self, factory, *args, addr_infos, req, timeout,
                                      client_error=aiohttp.ClientConnectorError, **kwargs):
        # asyncio calls the protocol factory once the TCP connection is up, before any
        # TLS handshake: the boundary between blackbox's connect and tls phases.
        marks = _marks.get()
        if marks is not None:
            inner = factory

            def factory():
                marks["tcp_at"] = time.perf_counter()
                return inner()

        if len(addr_infos) != 1 or args:
            return await super()._wrap_create_connection(
                factory, *args, addr_infos=addr_infos, req=req, timeout=timeout,
                client_error=client_error, **kwargs)
        # One address, as a probe's name nearly always has: the event loop opens the
        # socket itself (in C, with uvloop) instead of happy eyeballs' Python socket, which
        # is only worth its cost when there are addresses to race. Errors as aiohttp's.
        family, _type, proto, _name, address = addr_infos[0]
        try:
            return await self._loop.create_connection(
                factory, address[0], address[1], family=family, proto=proto, **kwargs)
        except _CERT_ERRORS as exc:
            raise aiohttp.ClientConnectorCertificateError(req.connection_key, exc) from exc
        except _SSL_ERRORS as exc:
            raise aiohttp.ClientConnectorSSLError(req.connection_key, exc) from exc
        except OSError as exc:
            if exc.errno is None and isinstance(exc, asyncio.TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc

    async def connect(self, req, traces, timeout):
        marks = _marks.get()
        started = time.perf_counter()
        if _is_literal(req.url.host or ""):
            policy.check(req.url.host, req.url.port)
            wanted = marks.get("ip_protocol") if marks is not None else None
            if wanted and not keep_family([req.url.host], wanted):
                marks["wrong_family"] = no_address_reason(req.url.host, wanted)
                raise OSError(marks["wrong_family"])
        resolved_before = marks.get("resolve", 0.0) if marks is not None else 0.0
        connection = await super().connect(req, traces, timeout)
        if marks is not None:
            now = time.perf_counter()
            tcp_at = marks.pop("tcp_at", now)
            _add(marks, "connect", tcp_at - started - (marks.get("resolve", 0.0) - resolved_before))
            marks["connected_at"] = now
            transport = connection.transport
            if transport is not None:
                marks["peer"] = transport.get_extra_info("peername")
                tls = peer_tls(transport.get_extra_info("ssl_object"),
                               verified=getattr(req.ssl, "verify_mode", 0) != ssl.CERT_NONE)
                marks["tls"] = tls
                if tls is not None:
                    _add(marks, "tls_s", now - tcp_at)
                    if tls.earliest_expiry is not None:
                        marks["cert_expiry"] = min(tls.earliest_expiry,
                                                   marks.get("cert_expiry", tls.earliest_expiry))
        return connection


class HttpClient:
    """HTTP sessions per event loop and address family, made on first use in that loop.

    A target's ``ip_protocol`` picks the family's session, whose connector resolves names
    to that family only (getaddrinfo's family) and keeps its own DNS cache, so a name one
    target probes over IPv6 never reaches another over IPv4 from the cache. Most fleets
    use only the "any family" session.
    """

    def __init__(self) -> None:
        self.sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                 dict[str, aiohttp.ClientSession]] = \
            weakref.WeakKeyDictionary()

    def get(self, ip_protocol: str = "") -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        sessions = self.sessions.setdefault(loop, {})
        session = sessions.get(ip_protocol)
        if session is None or session.closed:
            connector = _MeasuringConnector(limit=0, force_close=True, ttl_dns_cache=10,
                                            family=family(ip_protocol),
                                            resolver=_TimedResolver())
            session = sessions[ip_protocol] = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": USER_AGENT}, timeout=aiohttp.ClientTimeout(total=None),
            )
        return session

    async def close(self) -> None:
        """Close the running loop's sessions (call it before the loop ends)."""
        for session in self.sessions.pop(asyncio.get_running_loop(), {}).values():
            await session.close()


CLIENT = HttpClient()


@lru_cache(maxsize=65536)
def _is_literal(host: str) -> bool:
    return literal_address(host) is not None


@lru_cache(maxsize=65536)
def _url(address: str) -> URL:
    """Parsed once per target rather than on every probe (it showed in profiles)."""
    return URL(address)


@lru_cache(maxsize=4096)
def _pattern(keyword: str):
    """Compiled once per keyword; ValueError (not cached) if RE2 refuses it."""
    return keyword_regex(keyword)


def _phases(marks: dict, started: float, headers_at: float,
            finished: float) -> dict[str, float]:
    """Blackbox's phases, summed over redirects. All five are always there, as blackbox
    writes them: ``resolve`` is 0 for a literal address and ``tls`` 0 over plain HTTP, so a
    dashboard's stack of phases has the same series for every server."""
    return {"resolve": marks.get("resolve", 0.0), "connect": marks.get("connect", 0.0),
            "tls": marks.get("tls_s", 0.0),
            "processing": headers_at - marks.get("connected_at", started),
            "transfer": finished - headers_at}


async def _body_problem(target: Target, body: bytes, charset: str | None) -> str | None:
    keyword = target.http_keyword
    if not keyword:
        return None
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know: read it as UTF-8
        text = body.decode("utf-8", errors="replace")
    if target.http_keyword_regex:
        try:
            pattern = _pattern(keyword)
        except ValueError as exc:  # a Target not built by from_settings, which checks it
            return f"keyword {keyword!r} is {exc}"
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(_searches, pattern.search, text) is not None
    else:
        found = keyword in text
    if target.http_keyword_absent and found:
        return f"keyword {keyword!r} present"
    if not target.http_keyword_absent and not found:
        return f"keyword {keyword!r} missing"
    return None


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    """Up to MAX_BODY bytes; a single read when, as usual, the body arrived whole."""
    chunks = []
    size = 0
    content = response.content
    while size < MAX_BODY:
        chunk = await content.read(MAX_BODY - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if content.at_eof():
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _error_failure(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return verify_failure(exc.certificate_error)
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too_many_redirects", "too many redirects"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "reset", "server closed the connection"
    if isinstance(exc, aiohttp.InvalidURL):
        return "error", f"invalid URL: {exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "invalid_response", "response body incomplete"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "invalid_response", f"invalid HTTP response: {exc.message}"
    return connection_failure(exc)


def _unanswered(marks: dict) -> dict:
    """What a probe without a response still measured: the phases it got through (an
    HTTP result always has ``phases``, which is how probe_http_status_code 0 is told from
    another kind's absent status) and a certificate seen before it failed."""
    phases = {name: marks[key] for name, key in (("resolve", "resolve"), ("connect", "connect"),
                                                 ("tls", "tls_s")) if key in marks}
    return {"phases": phases, "cert_expiry": marks.get("cert_expiry"),
            "dns_lookup_s": marks.get("resolve")}


def _answered(marks: dict, response: aiohttp.ClientResponse, body: bytes, complete: bool,
              started: float, headers_at: float, finished: float) -> ProbeResult:
    """The measurements of a probe that got a response."""
    tls = marks.get("tls")
    peer = marks.get("peer")
    facts = address_facts(peer[0]) if peer else None
    version = response.version
    length = response.content_length
    return ProbeResult(
        success=True, duration_s=finished - started, http_status_code=response.status,
        cert_expiry=marks.get("cert_expiry"), dns_lookup_s=marks.get("resolve"),
        phases=_phases(marks, started, headers_at, finished),
        ip_protocol=facts[0] if facts else None, ip_addr_hash=facts[1] if facts else None,
        http_ssl=int(response.url.scheme == "https"),
        http_version=float(f"{version.major}.{version.minor}") if version else None,
        http_redirects=len(response.history),
        http_content_length=-1 if length is None else length,
        http_body_length=len(body) if complete else None,
        tls_version=tls.version if tls else None, tls_peer=tls.leaf if tls else None,
        chain_expiry=tls.chain_expiry if tls else None)


async def probe_http(target: Target) -> ProbeResult:
    started = time.perf_counter()
    marks: dict = {"ip_protocol": target.ip_protocol} if target.ip_protocol else {}
    token = _marks.set(marks)
    try:
        async with asyncio.timeout(target.timeout_s):
            async with CLIENT.get(target.ip_protocol).request(
                target.http_method, _url(target.address),
                allow_redirects=target.http_follow_redirects, max_redirects=MAX_REDIRECTS,
                **request_kwargs(target),
            ) as response:
                headers_at = time.perf_counter()
                body = b"" if target.http_method == "HEAD" else await _read_body(response)
                charset = response.charset if target.http_keyword else None
    except TimeoutError:
        return failure(started, time.perf_counter(), "timeout",
                       f"timeout after {target.timeout_s:g}s", **_unanswered(marks))
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        code, reason = _error_failure(exc)
        if "wrong_family" in marks:
            code, reason = "dns_no_record", marks["wrong_family"]
        elif target.ip_protocol and code in ("nxdomain", "dns_no_record", "dns_error"):
            code, reason = "dns_no_record", f"{reason} ({target.ip_protocol} only)"
        return failure(started, time.perf_counter(), code, reason, **_unanswered(marks))
    finally:
        _marks.reset(token)
    result = _answered(marks, response, body, len(body) < MAX_BODY, started, headers_at,
                       time.perf_counter())
    status = result.http_status_code
    if target.http_keyword:
        result.failed_due_to_regex = 0
    if not any(low <= status <= high for low, high in target.http_statuses):
        fail(result, "status", f"status {status}")
    elif reason := await _body_problem(target, body, charset):
        result.failed_due_to_regex = 1
        fail(result, "regex" if target.http_keyword_regex else "keyword", reason)
    elif target.http_max_latency_ms and result.duration_s * 1000 > target.http_max_latency_ms:
        fail(result, "slow", f"slow: {result.duration_s * 1000:.0f} ms, over "
                             f"{target.http_max_latency_ms:g} ms")
    return result
