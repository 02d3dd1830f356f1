"""Short human reasons for the ways a connection fails, as staff read them in alerts."""

from __future__ import annotations

import errno
import socket
import ssl

from exporter.probes.tls import verify_reason

_ERRNO_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EADDRNOTAVAIL: "no local address or port available",
}
_NOT_FOUND = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)}


def _root_cause(exc: BaseException) -> BaseException:
    """aiohttp wraps the OSError once or twice; find what actually went wrong."""
    cause = exc
    for _ in range(5):
        inner = getattr(cause, "os_error", None) or getattr(cause, "certificate_error", None) \
            or cause.__cause__
        if inner is None or inner is cause:
            break
        cause = inner
    return cause


def connection_reason(exc: BaseException) -> str:
    """The cause of a resolve, connect or handshake failure in a few words."""
    cause = _root_cause(exc)
    if isinstance(cause, socket.gaierror):
        detail = "name not found" if cause.errno in _NOT_FOUND else str(cause.strerror)
        return f"DNS lookup failed: {detail}"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return verify_reason(cause)
    if isinstance(cause, ssl.SSLError):
        return f"TLS error: {cause.reason or cause}"[:200]
    if isinstance(cause, OSError) and cause.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[cause.errno]
    if isinstance(cause, ConnectionResetError | BrokenPipeError):
        return "connection reset"
    return (str(cause) or type(cause).__name__)[:200]
