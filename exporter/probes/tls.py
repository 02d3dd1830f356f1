"""TLS for the probes: shared client contexts, the peer certificate's expiry, and reasons.

The expiry comes from the DER form of the peer certificate, which Python hands out even
when verification is off, so ``probe_ssl_earliest_cert_expiry`` is known for every TLS
probe, including servers with self-signed or private-CA certificates.
"""

from __future__ import annotations

import ssl
from functools import cache, lru_cache

from cryptography import x509


@cache
def client_context(verify: bool) -> ssl.SSLContext:
    """One context per mode for the whole process: building one costs more than a probe."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@lru_cache(maxsize=2048)
def _expiry_of(der: bytes) -> float:
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def peer_cert_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """notAfter of the peer's certificate as unix seconds, or None without TLS."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return _expiry_of(der) if der else None


def verify_reason(exc: BaseException) -> str:
    """``certificate expired`` or ``certificate verify failed: <what OpenSSL said>``."""
    text = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    if "expired" in str(text).lower():
        return "certificate expired"
    return f"certificate verify failed: {text}"[:200]
