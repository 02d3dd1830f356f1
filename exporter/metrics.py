"""The /metrics text: blackbox-compatible probe metrics per server, plus our own health.

Written straight as Prometheus text rather than through client objects. Servers carry
different free labels, which the text format allows within one family; what it needs is
that every line be valid, and each server's label set is escaped once, when its target
is loaded. A server's lines are rendered once per result (as bytes) and reused by every
scrape until the next result, so a scrape of 10,000 servers every 5 s is a join over
cached pieces. A removed server is simply absent from the next scrape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, generate_latest

from exporter.probes.result import ProbeResult
from exporter.scheduler import TargetState, result_due
from exporter.targets import Target, escape_label

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Field = Callable[[ProbeResult], float | int | None]

GAUGES: tuple[tuple[str, str, Field], ...] = (
    ("probe_success", "Whether the last probe succeeded", lambda r: int(r.success)),
    ("probe_duration_seconds", "How long the last probe took", lambda r: r.duration_s),
    ("probe_http_status_code", "HTTP status code of the last probe",
     lambda r: r.http_status_code),
    ("probe_ssl_earliest_cert_expiry", "Expiry of the peer certificate, unix seconds",
     lambda r: r.cert_expiry),
    ("probe_dns_lookup_time_seconds", "How long the DNS lookup of the last probe took",
     lambda r: r.dns_lookup_s),
    ("probe_icmp_packet_loss_ratio", "Share of echo requests without a reply",
     lambda r: r.icmp_loss_ratio),
)
# Families whose samples carry one more label: (name, help, extra label, field).
LABELLED: tuple[tuple[str, str, str, Callable[[ProbeResult], dict[str, float] | None]], ...] = (
    ("probe_http_duration_seconds", "Duration of each phase of the last HTTP probe", "phase",
     lambda r: r.phases),
    ("probe_icmp_duration_seconds", "Average echo round-trip time of the last probe",
     "phase", lambda r: None if r.icmp_rtt_s is None else {"rtt": r.icmp_rtt_s}),
    ("probe_failure_info", "Why the last probe failed; absent while it succeeds", "reason",
     lambda r: None if r.success or not r.reason else {r.reason: 1}),
)
# Ours, not blackbox's: how long past due a server's next result is, so that
# ProbeResultsStale can tell results that stopped coming from a server probed rarely.
# Present only while a result is late, so a healthy scrape carries no line of it (a line
# per server cost 19 % more scrape and 16 % more CPU per probe at 10,000 servers). Absent
# from /probe answers.
OVERDUE = ("servermon_probe_result_overdue_seconds",
           "How long past its due time the server's next result is; absent while on time")
_HEADERS = tuple(f"# HELP {name} {help_text}\n# TYPE {name} gauge\n".encode()
                 for name, help_text, *_ in GAUGES + LABELLED + (OVERDUE,))
CHUNK = 1000  # servers rendered between two yields to the event loop

Row = tuple[bytes, ...]


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(value)


def render(labels: str, result: ProbeResult) -> Row:
    """One server's lines, one entry per family (b"" when it has none there)."""
    braces = f"{{{labels}}}" if labels else ""
    sep = "," if labels else ""
    out = []
    for name, _help, field in GAUGES:
        value = field(result)
        out.append(b"" if value is None else f"{name}{braces} {_number(value)}\n".encode())
    for name, _help, label, field in LABELLED:
        values = field(result)
        out.append(b"" if not values else "".join(
            f'{name}{{{labels}{sep}{label}="{escape_label(key)}"}} {_number(value)}\n'
            for key, value in values.items()).encode())
    return tuple(out)


def overdue_line(labels: str, due: float | None, now: float) -> bytes:
    """The OVERDUE line of a server whose next result is late at ``now``, else b""."""
    if due is None or now <= due:
        return b""
    return f"{OVERDUE[0]}{{{labels}}} {round(now - due, 3)!r}\n".encode()


def _assemble(rows: list[Row]) -> bytes:
    """Family by family: a transposition and joins, all in C, whatever the server count."""
    parts = []
    for header, column in zip(_HEADERS, zip(*rows, strict=True), strict=False):
        if any(column):
            parts.append(header)
            parts.append(b"".join(column))
    return b"".join(parts)


def probe_text(result: ProbeResult) -> bytes:
    """The text of one /probe answer: unlabelled, as blackbox's, with the failure reason."""
    return _assemble([render("", result)])


class Exposition:
    """Renders /metrics, keeping each server's lines until its result or labels change.

    ``body()`` yields to the event loop every CHUNK servers, so a scrape of 10,000
    servers (about 8 MB) never holds up the probes due meanwhile for more than a few
    milliseconds at a time.
    """

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Target, ProbeResult, Row, float | None]] = {}
        self._lock = asyncio.Lock()

    def _rows(self, states: Iterable[TargetState], old: dict, cache: dict) -> list[Row]:
        """Each server's cached lines, and its OVERDUE line as of now (the one part that
        changes without a new result)."""
        rows = []
        now = time.time()
        for state in states:
            result, target = state.result, state.target
            if result is None:
                continue
            hit = old.get(target.server_id)
            if hit is None or hit[0] is not target or hit[1] is not result:
                hit = (target, result, (*render(target.labels_text, result), b""),
                       result_due(state))
            cache[target.server_id] = hit
            late = overdue_line(target.labels_text, hit[3], now)
            rows.append((*hit[2][:-1], late) if late else hit[2])
        return rows

    def probe_lines(self, states: Iterable[TargetState]) -> list[Row]:
        """Every probed server's lines, in one go."""
        cache: dict[int, tuple[Target, ProbeResult, Row, float | None]] = {}
        rows = self._rows(states, self._cache, cache)
        self._cache = cache
        return rows

    def text(self, states: Iterable[TargetState]) -> bytes:
        return _assemble(self.probe_lines(states)) + generate_latest(REGISTRY)

    async def body(self, states: Iterable[TargetState]) -> bytes:
        """The same as ``text()``, sharing the event loop while it renders."""
        async with self._lock:  # two scrapers at once take turns, sharing the cache
            snapshot = list(states)
            cache: dict[int, tuple[Target, ProbeResult, Row, float | None]] = {}
            rows: list[Row] = []
            for start in range(0, len(snapshot), CHUNK):
                rows.extend(self._rows(snapshot[start:start + CHUNK], self._cache, cache))
                await asyncio.sleep(0)
            self._cache = cache
        return _assemble(rows) + generate_latest(REGISTRY)
