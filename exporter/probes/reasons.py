"""Short human reasons for the ways a connection fails, as staff read them in alerts."""

from __future__ import annotations

import errno
import socket
import ssl

_ERRNO_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def connection_reason(exc: BaseException) -> str:
    """The underlying cause of a connect/handshake failure in a few words."""
    cause = exc
    for _ in range(5):  # aiohttp wraps the OSError once or twice
        inner = getattr(cause, "os_error", None) or cause.__cause__
        if inner is None or inner is cause:
            break
        cause = inner
    if isinstance(cause, socket.gaierror):
        return "DNS lookup failed: " + ("name not found" if cause.errno in (
            socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)) else str(cause.strerror))
    if isinstance(cause, ssl.SSLError):
        return f"TLS error: {cause.reason or cause}"[:200]
    if isinstance(cause, OSError) and cause.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[cause.errno]
    text = str(cause) or type(cause).__name__
    return text[:200]
