"""What every probe returns, whatever its kind."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.probes.tls import PeerCertificate
from wire.reasons import REASON_CODES


@dataclass(frozen=True, slots=True)
class HeartbeatFigures:
    """What a heartbeat server's metrics say, unix seconds (None: no line)."""

    last_ping_at: float | None
    deadline: float | None
    duration_s: float | None
    started_at: float | None


@dataclass(slots=True)
class ProbeResult:
    """One probe's outcome. Fields a kind does not measure stay None (and their metric
    is left out of the scrape).

    ``reason`` is a few words a member of staff can act on ("connection refused",
    "slow: 2345 ms, over 2000 ms"); ``reason_code`` the same as one of REASON_CODES, the
    only value ``probe_failure_info{reason}`` carries. Both are None on success.
    """

    success: bool
    duration_s: float
    reason: str | None = None
    reason_code: str | None = None
    http_status_code: int | None = None
    cert_expiry: float | None = None  # unix seconds: earliest notAfter the peer presented
    dns_lookup_s: float | None = None
    icmp_loss_ratio: float | None = None
    icmp_rtt_s: float | None = None
    icmp_reply_hop_limit: int | None = None  # TTL (IPv4) or hop limit (IPv6) of the last reply
    phases: dict[str, float] | None = None  # HTTP: resolve, connect, tls, processing, transfer
    ip_protocol: int | None = None  # 4 or 6: the address family probed
    ip_addr_hash: float | None = None  # blackbox's FNV-1a of the address probed
    http_ssl: int | None = None  # 1 if the final response came over TLS
    http_version: float | None = None  # 1.1, 2.0, ...
    http_redirects: int | None = None
    http_content_length: int | None = None  # the Content-Length header; -1 when absent
    http_body_length: int | None = None  # bytes of the (decompressed) body read
    failed_due_to_regex: int | None = None  # 0 or 1, for checks with a keyword only
    tls_version: str | None = None  # "TLS 1.3", as blackbox writes it
    tls_peer: PeerCertificate | None = None  # the leaf the peer presented
    chain_expiry: float | None = None  # earliest notAfter of the verified chain (verifying)
    dns_answer_rrs: int | None = None
    dns_authority_rrs: int | None = None
    dns_additional_rrs: int | None = None
    dns_query_succeeded: int | None = None
    dns_phases: dict[str, float] | None = None  # resolve (the server's name), request
    icmp_phases: dict[str, float] | None = None  # resolve, rtt
    heartbeat: HeartbeatFigures | None = None  # a heartbeat server's judgement


    def __post_init__(self) -> None:
        if self.reason_code is not None and self.reason_code not in REASON_CODES:
            raise ValueError(f"reason code {self.reason_code!r} is not in REASON_CODES")

    @property
    def latency_s(self) -> float:
        """What staff call latency: the echo round trip for ICMP, else the probe's time."""
        return self.icmp_rtt_s if self.icmp_rtt_s is not None else self.duration_s


def failure(started: float, now: float, code: str, reason: str, **extra: object) -> ProbeResult:
    return ProbeResult(success=False, duration_s=now - started, reason=reason[:200],
                       reason_code=code, **extra)


def fail(result: ProbeResult, code: str, reason: str) -> ProbeResult:
    """Mark a result that got an answer as failed (a check on the answer failed)."""
    if code not in REASON_CODES:
        raise ValueError(f"reason code {code!r} is not in REASON_CODES")
    result.success, result.reason_code, result.reason = False, code, reason[:200]
    return result
