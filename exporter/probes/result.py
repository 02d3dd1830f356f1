"""What every probe returns, whatever its kind."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProbeResult:
    success: bool
    duration_s: float
    reason: str | None = None
    http_status_code: int | None = None
    cert_expiry: float | None = None  # unix seconds of the peer certificate's notAfter
    dns_lookup_s: float | None = None
    icmp_loss_ratio: float | None = None
    icmp_rtt_s: float | None = None
    phases: dict[str, float] = field(default_factory=dict)


def failure(started: float, now: float, reason: str, **extra: object) -> ProbeResult:
    return ProbeResult(success=False, duration_s=now - started, reason=reason, **extra)
