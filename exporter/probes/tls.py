"""TLS for the probes: shared client contexts, what the peer presented, and reasons.

Certificates come in DER form, which Python hands out even when verification is off, so
``probe_ssl_earliest_cert_expiry`` and ``probe_ssl_last_chain_info`` are known for every
TLS probe, including servers with self-signed or private-CA certificates. Each distinct
certificate is parsed once (``PeerCertificate.of``), its labels escaped once.

The presented and the verified chains come from the private ``get_unverified_chain`` and
``get_verified_chain`` of CPython's ``_ssl`` object (public as ``SSLSocket`` methods from
3.13); where they are missing, the leaf stands for the presented chain and the verified
chain's expiry is left out.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from functools import cache, lru_cache

from cryptography import x509

from exporter.targets import escape_label

_DER = getattr(ssl, "_ssl", None) and ssl._ssl.ENCODING_DER  # type: ignore[attr-defined]
TLS_VERSIONS = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2",
                "TLSv1.3": "TLS 1.3"}


@cache
def client_context(verify: bool) -> ssl.SSLContext:
    """One context per mode for the whole process: building one costs more than a probe."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """What blackbox reports of a certificate: its notAfter and probe_ssl_last_chain_info's
    labels (``fingerprint_sha256``, ``subject``, ``issuer``, ``subjectalternative``,
    ``serialnumber``, formatted as blackbox formats them), escaped for the text format."""

    expiry: float
    info_labels: str

    @staticmethod
    @lru_cache(maxsize=4096)
    def of(der: bytes) -> PeerCertificate:
        cert = x509.load_der_x509_certificate(der)
        try:
            names = cert.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        except (x509.ExtensionNotFound, ValueError):
            names = []
        serial = cert.serial_number
        labels = (("fingerprint_sha256", hashlib.sha256(der).hexdigest()),
                  ("subject", cert.subject.rfc4514_string()),
                  ("issuer", cert.issuer.rfc4514_string()),
                  ("subjectalternative", ",".join(names)),
                  ("serialnumber", serial.to_bytes((serial.bit_length() + 7) // 8, "big").hex()))
        return PeerCertificate(
            cert.not_valid_after_utc.timestamp(),
            ",".join(f'{name}="{escape_label(value)}"' for name, value in labels))


@dataclass(slots=True)
class PeerTLS:
    """One handshake's facts: the version, the leaf, the earliest expiry presented, and
    the verified chain's earliest expiry (None when not verifying)."""

    version: str | None
    leaf: PeerCertificate | None
    earliest_expiry: float | None
    chain_expiry: float | None


def _chain(ssl_object, verified: bool) -> list[PeerCertificate]:
    inner = getattr(ssl_object, "_sslobj", ssl_object)
    getter = getattr(inner, "get_verified_chain" if verified else "get_unverified_chain", None)
    if getter is None or _DER is None:
        return []
    try:
        return [PeerCertificate.of(cert.public_bytes(_DER)) for cert in getter() or ()]
    except (ValueError, ssl.SSLError):
        return []


def peer_tls(ssl_object: ssl.SSLObject | ssl.SSLSocket | None, verified: bool) -> PeerTLS | None:
    """The handshake's facts, or None without TLS. ``verified``: the context verified the
    chain, so that the verified chain means something."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    leaf = PeerCertificate.of(der) if der else None
    presented = _chain(ssl_object, verified=False) or ([leaf] if leaf else [])
    chain = _chain(ssl_object, verified=True) if verified else []
    version = ssl_object.version()
    return PeerTLS(TLS_VERSIONS.get(version or "", "unknown") if version else None, leaf,
                   min((c.expiry for c in presented), default=None),
                   min((c.expiry for c in chain), default=None))


def peer_cert_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """notAfter of the peer's certificate as unix seconds, or None without TLS."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return PeerCertificate.of(der).expiry if der else None


def verify_reason(exc: BaseException) -> str:
    """``certificate expired`` or ``certificate verify failed: <what OpenSSL said>``."""
    return verify_failure(exc)[1]


def verify_failure(exc: BaseException) -> tuple[str, str]:
    """(reason code, reason) of a failed certificate verification."""
    text = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    lowered = str(text).lower()
    if "expired" in lowered:
        return "tls_expired", "certificate expired"
    code = "tls_hostname" if ("hostname" in lowered or "ip address mismatch" in lowered) \
        else "tls_untrusted"
    return code, f"certificate verify failed: {text}"[:200]
