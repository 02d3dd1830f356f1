"""HTTP and HTTPS: status, keyword or regex in the body, latency limit, TLS expiry.

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
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from functools import lru_cache

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from exporter.probes import policy
from exporter.probes.reasons import connection_reason
from exporter.probes.result import ProbeResult, failure
from exporter.probes.tls import client_context, peer_cert_expiry, verify_reason
from exporter.targets import Target
from wire import keyword_regex
from wire.probe_policy import literal_address

MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 10
USER_AGENT = "servermon-exporter/1"
REGEX_THREADS = 4

_searches = ThreadPoolExecutor(REGEX_THREADS, thread_name_prefix="keyword-regex")

# Measurements of the probe running in this task, filled in by the connector and resolver.
_marks: ContextVar[dict[str, float] | None] = ContextVar("servermon_http_marks", default=None)


def _add(marks: dict[str, float] | None, name: str, seconds: float) -> None:
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


class _MeasuringConnector(aiohttp.TCPConnector):
    """Times each new connection and reads its peer certificate as it opens.

    A small response is read and its connection released before the caller sees it, so
    the certificate can only be taken here. Across redirects the earliest expiry wins.
    """

    async def connect(self, req, traces, timeout):
        marks = _marks.get()
        started = time.perf_counter()
        if literal_address(req.url.host or "") is not None:
            policy.check(req.url.host, req.url.port)
        connection = await super().connect(req, traces, timeout)
        if marks is not None:
            now = time.perf_counter()
            _add(marks, "connect", now - started)
            marks["connected_at"] = now
            transport = connection.transport
            expiry = peer_cert_expiry(transport.get_extra_info("ssl_object")) if transport else None
            if expiry is not None:
                marks["cert_expiry"] = min(expiry, marks.get("cert_expiry", expiry))
        return connection


class HttpClient:
    """One HTTP session per event loop, made on first use in that loop."""

    def __init__(self) -> None:
        self.sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                 aiohttp.ClientSession] = \
            weakref.WeakKeyDictionary()

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self.sessions.get(loop)
        if session is None or session.closed:
            connector = _MeasuringConnector(limit=0, force_close=True, ttl_dns_cache=10,
                                            resolver=_TimedResolver())
            session = self.sessions[loop] = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": USER_AGENT}, timeout=aiohttp.ClientTimeout(total=None),
            )
        return session

    async def close(self) -> None:
        """Close the running loop's session (call it before the loop ends)."""
        session = self.sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()


CLIENT = HttpClient()


@lru_cache(maxsize=65536)
def _url(address: str) -> URL:
    """Parsed once per target rather than on every probe (it showed in profiles)."""
    return URL(address)


@lru_cache(maxsize=4096)
def _pattern(keyword: str):
    """Compiled once per keyword; ValueError (not cached) if RE2 refuses it."""
    return keyword_regex(keyword)


def _phases(marks: dict[str, float], started: float, headers_at: float,
            finished: float) -> dict[str, float]:
    """Blackbox's phases, except that ``connect`` includes the TLS handshake."""
    resolve = marks.get("resolve")
    phases = {"connect": marks.get("connect", 0.0) - (resolve or 0.0),
              "processing": headers_at - marks.get("connected_at", started),
              "transfer": finished - headers_at}
    if resolve is not None:
        phases["resolve"] = resolve
    return phases


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
    while size < MAX_BODY:
        chunk = await response.content.read(MAX_BODY - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _error_reason(exc: Exception) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return verify_reason(exc.certificate_error)
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body incomplete"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid HTTP response: {exc.message}"
    return connection_reason(exc)


async def probe_http(target: Target) -> ProbeResult:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    token = _marks.set(marks)
    try:
        async with asyncio.timeout(target.timeout_s):
            async with CLIENT.get().request(
                target.http_method, _url(target.address), ssl=client_context(target.tls_verify),
                allow_redirects=target.http_follow_redirects, max_redirects=MAX_REDIRECTS,
            ) as response:
                headers_at = time.perf_counter()
                status = response.status
                body = b"" if target.http_method == "HEAD" else await _read_body(response)
                charset = response.charset
    except TimeoutError:
        return failure(started, time.perf_counter(), f"timeout after {target.timeout_s:g}s",
                       cert_expiry=marks.get("cert_expiry"))
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return failure(started, time.perf_counter(), _error_reason(exc),
                       cert_expiry=marks.get("cert_expiry"))
    finally:
        _marks.reset(token)
    finished = time.perf_counter()
    result = ProbeResult(success=True, duration_s=finished - started, http_status_code=status,
                         cert_expiry=marks.get("cert_expiry"),
                         phases=_phases(marks, started, headers_at, finished))
    if not any(low <= status <= high for low, high in target.http_statuses):
        result.success, result.reason = False, f"status {status}"
    elif reason := await _body_problem(target, body, charset):
        result.success, result.reason = False, reason
    elif target.http_max_latency_ms and result.duration_s * 1000 > target.http_max_latency_ms:
        result.success = False
        result.reason = (f"slow: {result.duration_s * 1000:.0f} ms, over "
                         f"{target.http_max_latency_ms:g} ms")
    return result
