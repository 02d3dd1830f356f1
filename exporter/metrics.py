"""The /metrics text: blackbox-compatible probe metrics per target, plus our own health.

Written straight as Prometheus text rather than through client objects: each target's
label set (which differs between servers, as their free labels do) is escaped once when
the target is loaded, and a scrape of 10,000 targets is one pass over plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, generate_latest

from exporter.probes.result import ProbeResult
from exporter.scheduler import TargetState

Field = Callable[[ProbeResult], float | None]

FAMILIES: tuple[tuple[str, str, Field], ...] = (
    ("probe_success", "Whether the last probe succeeded", lambda r: 1.0 if r.success else 0.0),
    ("probe_duration_seconds", "How long the last probe took", lambda r: r.duration_s),
    ("probe_http_status_code", "HTTP status code of the last probe", lambda r: r.http_status_code),
    ("probe_ssl_earliest_cert_expiry", "Expiry of the peer certificate, unix seconds",
     lambda r: r.cert_expiry),
    ("probe_dns_lookup_time_seconds", "DNS lookup time of the last probe",
     lambda r: r.dns_lookup_s),
    ("probe_icmp_packet_loss_ratio", "Share of echo requests without a reply",
     lambda r: r.icmp_loss_ratio),
    ("probe_icmp_rtt_seconds", "Average echo round-trip time", lambda r: r.icmp_rtt_s),
)


def _value(number: float) -> str:
    return repr(float(number))


def probe_lines(states: Iterable[TargetState]) -> list[str]:
    known = [state for state in states if state.result is not None]
    lines: list[str] = []
    for name, help_text, field in FAMILIES:
        samples = [(state.target.label_text, field(state.result)) for state in known]
        samples = [(labels, value) for labels, value in samples if value is not None]
        if not samples:
            continue
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{{{labels}}} {_value(value)}" for labels, value in samples)
    phases = [(state.target.label_text, phase, seconds) for state in known
              for phase, seconds in state.result.phases.items()]
    if phases:
        lines.append("# HELP probe_http_duration_seconds Duration of each phase of the probe")
        lines.append("# TYPE probe_http_duration_seconds gauge")
        lines.extend(f'probe_http_duration_seconds{{{labels},phase="{phase}"}} {_value(seconds)}'
                     for labels, phase, seconds in phases)
    return lines


def exposition(states: Iterable[TargetState]) -> bytes:
    text = "\n".join(probe_lines(states))
    return (text + "\n").encode() + generate_latest(REGISTRY) if text else generate_latest(REGISTRY)
