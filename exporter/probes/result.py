"""What every probe returns, whatever its kind."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ProbeResult:
    """One probe's outcome. Fields a kind does not measure stay None.

    ``reason`` is a few words a member of staff can act on ("connection refused",
    "status 503"); it is None on success.
    """

    success: bool
    duration_s: float
    reason: str | None = None
    http_status_code: int | None = None
    cert_expiry: float | None = None  # unix seconds: notAfter of the peer certificate
    dns_lookup_s: float | None = None
    icmp_loss_ratio: float | None = None
    icmp_rtt_s: float | None = None
    phases: dict[str, float] | None = None  # HTTP: resolve, connect, processing, transfer

    @property
    def latency_s(self) -> float:
        """What staff call latency: the echo round trip for ICMP, else the probe's time."""
        return self.icmp_rtt_s if self.icmp_rtt_s is not None else self.duration_s


def failure(started: float, now: float, reason: str, **extra: object) -> ProbeResult:
    return ProbeResult(success=False, duration_s=now - started, reason=reason[:200], **extra)
