"""HTTP and HTTPS: status, keyword or regex in the body, latency limit, TLS expiry.

Each probe opens a fresh connection (as the blackbox exporter does), so a server that
stopped accepting connections is seen at once rather than hidden behind a kept-alive
socket; DNS answers are cached for a few seconds to spare the resolver.
"""

from __future__ import annotations

import asyncio
import re
import time
from functools import cache
from types import SimpleNamespace

import aiohttp

from exporter.probes.reasons import connection_reason
from exporter.probes.result import ProbeResult, failure
from exporter.probes.tls import client_context, describe_ssl_error, peer_cert_expiry
from exporter.targets import Target

MAX_BODY = 1024 * 1024
USER_AGENT = "servermon-exporter/1"


def _trace_config() -> aiohttp.TraceConfig:
    """Per-phase timestamps into the request's trace context (resolve, connect, headers)."""
    config = aiohttp.TraceConfig()

    async def mark(name: str, context: SimpleNamespace) -> None:
        context.trace_request_ctx[name] = time.perf_counter()

    async def dns_start(_s, ctx, _p) -> None:
        await mark("dns_start", ctx)

    async def dns_end(_s, ctx, _p) -> None:
        await mark("dns_end", ctx)

    async def connect_start(_s, ctx, _p) -> None:
        await mark("connect_start", ctx)

    async def connect_end(_s, ctx, _p) -> None:
        await mark("connect_end", ctx)

    config.on_dns_resolvehost_start.append(dns_start)
    config.on_dns_resolvehost_end.append(dns_end)
    config.on_connection_create_start.append(connect_start)
    config.on_connection_create_end.append(connect_end)
    return config


class _CertCapturingConnector(aiohttp.TCPConnector):
    """Reads the peer certificate as the connection opens.

    A small response is read and its connection released before the caller sees it, so
    the certificate must be taken here; it goes into the request's trace context.
    """

    async def connect(self, req, traces, timeout):
        connection = await super().connect(req, traces, timeout)
        transport = connection.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        if ssl_object is not None:
            expiry = peer_cert_expiry(ssl_object)
            for trace in traces:
                context = getattr(trace, "_trace_config_ctx", None)
                if context is not None and isinstance(context.trace_request_ctx, dict):
                    context.trace_request_ctx["cert_expiry"] = expiry
        return connection


class HttpClient:
    """One aiohttp session for every HTTP probe of the process."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> aiohttp.ClientSession:
        """The session of the running loop (a new loop, as in tests, gets its own)."""
        loop = asyncio.get_running_loop()
        if self.session is None or self.session.closed or self.loop is not loop:
            self.loop = loop
            connector = _CertCapturingConnector(limit=0, force_close=True, ttl_dns_cache=10,
                                             enable_cleanup_closed=True)
            self.session = aiohttp.ClientSession(
                connector=connector, trace_configs=[_trace_config()],
                headers={"User-Agent": USER_AGENT}, auto_decompress=True,
            )
        return self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


CLIENT = HttpClient()


@cache
def _pattern(keyword: str, regex: bool) -> re.Pattern[str]:
    return re.compile(keyword if regex else re.escape(keyword))


def _phases(marks: dict[str, float | None], started: float, headers_at: float,
            finished: float) -> dict[str, float]:
    phases: dict[str, float] = {}
    if "dns_start" in marks and "dns_end" in marks:
        phases["resolve"] = marks["dns_end"] - marks["dns_start"]
    connected = marks.get("connect_end", started)
    if "connect_start" in marks:
        phases["connect"] = connected - marks["connect_start"]
    phases["processing"] = headers_at - connected
    phases["transfer"] = finished - headers_at
    return phases


def _check_body(target: Target, body: str) -> str | None:
    if not target.http_keyword:
        return None
    found = _pattern(target.http_keyword, target.http_keyword_regex).search(body) is not None
    if target.http_keyword_absent and found:
        return f"keyword {target.http_keyword!r} present"
    if not target.http_keyword_absent and not found:
        return f"keyword {target.http_keyword!r} missing"
    return None


async def probe_http(target: Target) -> ProbeResult:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    session = CLIENT.get()
    ssl_context = client_context(target.tls_verify) if target.address.startswith("https") else None
    try:
        async with asyncio.timeout(target.timeout_s):
            async with session.request(
                target.http_method, target.address, ssl=ssl_context if ssl_context else False,
                allow_redirects=target.http_follow_redirects, max_redirects=10,
                trace_request_ctx=marks,
            ) as response:
                headers_at = time.perf_counter()
                body = await response.content.read(MAX_BODY) if target.http_method != "HEAD" else b""
                status = response.status
                charset = response.charset or "utf-8"
    except TimeoutError:
        return failure(started, time.perf_counter(), f"timeout after {target.timeout_s:g}s")
    except aiohttp.ClientConnectorCertificateError as exc:
        return failure(started, time.perf_counter(), describe_ssl_error(exc.certificate_error))
    except aiohttp.TooManyRedirects:
        return failure(started, time.perf_counter(), "too many redirects")
    except aiohttp.ServerDisconnectedError:
        return failure(started, time.perf_counter(), "server closed the connection")
    except (aiohttp.ClientError, OSError) as exc:
        return failure(started, time.perf_counter(), connection_reason(exc))
    finished = time.perf_counter()
    result = ProbeResult(success=True, duration_s=finished - started, http_status_code=status,
                         cert_expiry=marks.get("cert_expiry"),
                         phases=_phases(marks, started, headers_at, finished))
    if not any(low <= status <= high for low, high in target.http_statuses):
        result.success, result.reason = False, f"status {status}"
    elif reason := _check_body(target, body.decode(charset, errors="replace")):
        result.success, result.reason = False, reason
    elif target.http_max_latency_ms and result.duration_s * 1000 > target.http_max_latency_ms:
        result.success = False
        result.reason = (f"slow: {result.duration_s * 1000:.0f} ms over "
                         f"{target.http_max_latency_ms} ms")
    return result
