"""Certificate expiry from a live TLS connection, and TLS contexts per verification mode."""

from __future__ import annotations

import ssl
from functools import cache

from cryptography import x509


@cache
def client_context(verify: bool) -> ssl.SSLContext:
    """Shared contexts: building one per probe costs more CPU than the probe itself."""
    if verify:
        return ssl.create_default_context()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def peer_cert_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """notAfter of the peer's certificate as unix seconds; works with verification off."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def describe_ssl_error(exc: BaseException) -> str:
    text = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    if "expired" in str(text).lower():
        return "certificate expired"
    return f"certificate verify failed: {text}"[:200]
