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


def _status_code(result: ProbeResult) -> int | None:
    """0 for an HTTP probe that got no response (an HTTP result always has phases)."""
    if result.http_status_code is not None:
        return result.http_status_code
    return 0 if result.phases is not None else None


# blackbox_exporter's families (its names, help and meaning), then ours. A family whose
# value a result lacks has no line for that server: a kind writes only its own.
GAUGES: tuple[tuple[str, str, Field], ...] = (
    ("probe_success", "Displays whether or not the probe was a success",
     lambda r: int(r.success)),
    ("probe_duration_seconds", "Returns how long the probe took to complete in seconds",
     lambda r: r.duration_s),
    ("probe_http_status_code", "Response HTTP status code (0: no response)", _status_code),
    ("probe_http_ssl", "Indicates if SSL was used for the final redirect",
     lambda r: r.http_ssl),
    ("probe_http_version", "Returns the version of HTTP of the probe response",
     lambda r: r.http_version),
    ("probe_http_redirects", "The number of redirects", lambda r: r.http_redirects),
    ("probe_http_content_length", "Length of http content response (-1: not given)",
     lambda r: r.http_content_length),
    ("probe_http_uncompressed_body_length", "Length of uncompressed response body",
     lambda r: r.http_body_length),
    ("probe_failed_due_to_regex", "Indicates if probe failed due to regex",
     lambda r: r.failed_due_to_regex),
    ("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime",
     lambda r: r.cert_expiry),
    ("probe_ssl_last_chain_expiry_timestamp_seconds",
     "Returns last SSL chain expiry in timestamp", lambda r: r.chain_expiry),
    ("probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds",
     lambda r: r.dns_lookup_s),
    ("probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6",
     lambda r: r.ip_protocol),
    ("probe_ip_addr_hash",
     "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
     lambda r: r.ip_addr_hash),
    ("probe_dns_answer_rrs", "Returns number of entries in the answer resource record list",
     lambda r: r.dns_answer_rrs),
    ("probe_dns_authority_rrs",
     "Returns number of entries in the authority resource record list",
     lambda r: r.dns_authority_rrs),
    ("probe_dns_additional_rrs",
     "Returns number of entries in the additional resource record list",
     lambda r: r.dns_additional_rrs),
    ("probe_dns_query_succeeded", "Displays whether or not the query was executed successfully",
     lambda r: r.dns_query_succeeded),
    ("probe_icmp_packet_loss_ratio", "Share of echo requests without a reply",
     lambda r: r.icmp_loss_ratio),
    ("probe_icmp_reply_hop_limit", "Replied packet hop limit (TTL for ipv4)",
     lambda r: r.icmp_reply_hop_limit),
    # Ours: a heartbeat monitor's job (wire/heartbeat.py), for its rules and charts.
    ("servermon_heartbeat_last_ping_timestamp_seconds",
     "When the heartbeat's job last pinged, any ping", lambda r: r.heartbeat.last_ping_at
     if r.heartbeat else None),
    ("servermon_heartbeat_deadline_timestamp_seconds",
     "When the job is late unless it pings; absent while it is late or failed",
     lambda r: r.heartbeat.deadline if r.heartbeat else None),
    ("servermon_heartbeat_run_duration_seconds",
     "How long the job's newest finished run took, from its start ping to its end",
     lambda r: r.heartbeat.duration_s if r.heartbeat else None),
    ("servermon_heartbeat_run_started_timestamp_seconds",
     "When the job's run under way started; absent while none is",
     lambda r: r.heartbeat.started_at if r.heartbeat else None),
)
# Families whose samples carry one more label: (name, help, extra label, field). With the
# label None, the field's keys are label text already (escaped when the value was made).
LABELLED: tuple[tuple[str, str, str | None,
                      Callable[[ProbeResult], dict[str, float] | None]], ...] = (
    ("probe_http_duration_seconds",
     "Duration of http request by phase, summed over all redirects", "phase",
     lambda r: r.phases),
    ("probe_dns_duration_seconds", "Duration of DNS request by phase", "phase",
     lambda r: r.dns_phases),
    ("probe_icmp_duration_seconds", "Duration of icmp request by phase", "phase",
     lambda r: r.icmp_phases),
    ("probe_tls_version_info", "Returns the TLS version used, or NaN when unknown", "version",
     lambda r: None if r.tls_version is None else {r.tls_version: 1}),
    ("probe_ssl_last_chain_info", "Contains SSL leaf certificate information", None,
     lambda r: None if r.tls_peer is None else {r.tls_peer.info_labels: 1}),
    ("probe_failure_info",
     "Why the last probe failed, as a code (REASON_CODES); absent while it succeeds", "reason",
     lambda r: None if r.success or not r.reason_code else {r.reason_code: 1}),
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
        if not values:
            out.append(b"")
        elif label is None:
            out.append("".join(f"{name}{{{labels}{sep}{key}}} {_number(value)}\n"
                               for key, value in values.items()).encode())
        else:
            out.append("".join(
                f'{name}{{{labels}{sep}{label}="{escape_label(key)}"}} {_number(value)}\n'
                for key, value in values.items()).encode())
    return tuple(out)


def overdue_line(labels: str, due: float | None, now: float) -> bytes:
    """The OVERDUE line of a server whose next result is late at ``now``, else b""."""
    if due is None or now <= due:
        return b""
    return f"{OVERDUE[0]}{{{labels}}} {round(now - due, 3)!r}\n".encode()


def _assemble(rows: list[Row], tail: bytes = b"") -> bytes:
    """Family by family: a transposition and one join, all in C, whatever the server
    count. One join of every piece, not one per family and another of those: at 10,000
    servers the body (18 MB) is copied once."""
    parts: list[bytes] = []
    for header, column in zip(_HEADERS, zip(*rows, strict=True), strict=False):
        if any(column):
            parts.append(header)
            parts.extend(column)
    parts.append(tail)
    return b"".join(parts)


def probe_text(result: ProbeResult) -> bytes:
    """The text of one /probe answer: unlabelled, as blackbox's, with the failure reason."""
    return _assemble([render("", result)])


class Exposition:
    """Renders /metrics, keeping each server's lines until its result or labels change.

    ``body()`` yields to the event loop every CHUNK servers, so a scrape of 10,000
    servers (about 18 MB) never holds up the probes due meanwhile for more than a few
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
            due = hit[3]
            if due is not None and now > due:
                rows.append((*hit[2][:-1], overdue_line(target.labels_text, due, now)))
            else:
                rows.append(hit[2])
        return rows

    def probe_lines(self, states: Iterable[TargetState]) -> list[Row]:
        """Every probed server's lines, in one go."""
        cache: dict[int, tuple[Target, ProbeResult, Row, float | None]] = {}
        rows = self._rows(states, self._cache, cache)
        self._cache = cache
        return rows

    def text(self, states: Iterable[TargetState]) -> bytes:
        return _assemble(self.probe_lines(states), generate_latest(REGISTRY))

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
        return _assemble(rows, generate_latest(REGISTRY))
