"""Short human reasons for the ways a connection fails, each with its code (REASON_CODES)."""

from __future__ import annotations

import errno
import socket
import ssl

from exporter.probes.policy import Denied
from exporter.probes.tls import verify_failure

_ERRNO_REASONS = {
    errno.ECONNREFUSED: ("refused", "connection refused"),
    errno.ECONNRESET: ("reset", "connection reset"),
    errno.EHOSTUNREACH: ("unreachable", "host unreachable"),
    errno.ENETUNREACH: ("unreachable", "network unreachable"),
    errno.ETIMEDOUT: ("timeout", "connection timed out"),
    errno.EADDRNOTAVAIL: ("error", "no local address or port available"),
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


def connection_failure(exc: BaseException) -> tuple[str, str]:
    """(code, reason) of a resolve, connect or handshake failure, the reason in a few words."""
    cause = _root_cause(exc)
    if isinstance(cause, Denied):
        return "denied", str(cause)
    if isinstance(cause, socket.gaierror):
        if cause.errno in _NOT_FOUND:
            return "nxdomain", "DNS lookup failed: name not found"
        return "dns_error", f"DNS lookup failed: {cause.strerror}"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return verify_failure(cause)
    if isinstance(cause, ssl.SSLError):
        return "tls_error", f"TLS error: {cause.reason or cause}"[:200]
    if isinstance(cause, OSError) and cause.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[cause.errno]
    if isinstance(cause, ConnectionResetError | BrokenPipeError):
        return "reset", "connection reset"
    if isinstance(cause, TimeoutError):
        return "timeout", "connection timed out"
    return "error", (str(cause) or type(cause).__name__)[:200]


def connection_reason(exc: BaseException) -> str:
    """The cause of a resolve, connect or handshake failure in a few words."""
    return connection_failure(exc)[1]
