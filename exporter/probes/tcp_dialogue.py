"""blackbox's ``tcp.query_response``: expect lines, send lines, upgrade to TLS, in order.

``run_dialogue`` works on an open asyncio stream as blackbox does on its connection: an
``expect`` reads lines (without their CR LF) until one matches its RE2 regex, failing at
the end of the stream; a ``send`` writes its text and a newline; a ``starttls`` upgrades
the stream in place (``StreamWriter.start_tls``, loop.start_tls underneath), after which
the dialogue goes on encrypted. A step with several of them does them in that order.
"""

from __future__ import annotations

import asyncio
import ssl
from functools import lru_cache

from wire import QueryStep, keyword_regex

MAX_LINE = 64 * 1024
MAX_LINES = 10_000  # read for one expect before giving up on it


@lru_cache(maxsize=1024)
def _regex(pattern: str):
    return keyword_regex(pattern)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


async def run_dialogue(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       steps: tuple[QueryStep, ...], *, ssl_context: ssl.SSLContext | None = None,
                       server_hostname: str | None = None) -> str | None:
    """None when every step succeeded, else the failure's reason. ``ssl_context`` and
    ``server_hostname`` serve a ``starttls`` step; after one, ``writer``'s
    ``get_extra_info("ssl_object")`` is the TLS connection (for its certificates).
    The caller bounds the time (the probe's timeout) and closes the writer."""
    for number, (expect, send, starttls) in enumerate(steps, 1):
        if expect is not None:
            problem = await _expect(reader, expect)
            if problem:
                return f"step {number}: {problem}"
        if send is not None:
            try:
                writer.write(send.encode() + b"\n")
                await writer.drain()
            except (ConnectionError, OSError) as exc:
                return f"step {number}: could not send {_shown(send)}: {_os_reason(exc)}"
        if starttls:
            if writer.get_extra_info("ssl_object") is not None:
                return f"step {number}: starttls on a connection that is already TLS"
            try:
                await writer.start_tls(ssl_context or ssl.create_default_context(),
                                       server_hostname=server_hostname)
            except ssl.SSLCertVerificationError as exc:
                return f"step {number}: starttls: certificate {exc.verify_message}"
            except (ssl.SSLError, ConnectionError, OSError) as exc:
                return f"step {number}: starttls failed: {_os_reason(exc)}"
    return None


async def _expect(reader: asyncio.StreamReader, pattern: str) -> str | None:
    regex = _regex(pattern)
    last = None
    for _ in range(MAX_LINES):
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raw = exc.partial
            if not raw:
                seen = f" (last line {_shown(last)})" if last is not None else ""
                return f"expected a line matching {_shown(pattern)}, the connection closed{seen}"
        except asyncio.LimitOverrunError:
            return f"expected a line matching {_shown(pattern)}, got a line too long to read"
        except (ConnectionError, OSError) as exc:
            return f"expected a line matching {_shown(pattern)}: {_os_reason(exc)}"
        line = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")
        if regex.search(line) is not None:
            return None
        last = line
    return f"expected a line matching {_shown(pattern)} within {MAX_LINES} lines"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def open_stream(host: str, port: int, *, ssl_context: ssl.SSLContext | None = None,
                      server_hostname: str | None = None
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stream to one (already policy-checked) address, for a dialogue."""
    return await asyncio.open_connection(host, port, ssl=ssl_context, limit=MAX_LINE,
                                         server_hostname=server_hostname if ssl_context else None)
