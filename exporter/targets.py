"""A probe target as service discovery describes it: one SD group per server.

Parsing happens once, when the list is loaded, so the hot path never looks at strings:
the probe settings become typed fields and the public labels become the text that every
metric line of the server repeats. Both SD and the one-off ``/probe`` endpoint build
targets here, so they share one set of checks and one wording for errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wire import (
    DNS_RECORD_TYPES,
    DNS_TRANSPORTS,
    HTTP_METHODS,
    IP_PROTOCOLS,
    KEYWORD_MODES,
    KINDS,
    MAX_HTTP_BODY,
    META_PREFIX,
    SECRET_SETTINGS,
    TARGET_LABELS,
    QueryStep,
    http_headers,
    keyword_regex,
    query_response_steps,
    split_host_port,
)
from wire.cron import cron_problem
from wire.heartbeat import GRACE_RANGE_S, PERIOD_RANGE_S, Schedule
from wire.secrets import Keyring, is_sealed, unseal

# Label names the exporter adds to some series itself; a free label of the same name is
# kept as ``exported_<name>``, as Prometheus does on a collision.
EXPORTER_LABELS = frozenset({"phase", "reason"})

_STATUS_RANGE = re.compile(r"^([1-5]\d\d)(?:-([1-5]\d\d))?$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")

# The exporter's PROBE_SECRETS_KEY (exporter/service.py installs it at start); None: a
# target with a sealed setting fails to load rather than being probed with ciphertext.
_keyring: Keyring | None = None


def install_keyring(keyring: Keyring | None) -> None:
    global _keyring
    _keyring = keyring


def escape_label(value: str) -> str:
    """A label value as the text exposition format needs it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(labels: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f'{name}="{escape_label(value)}"' for name, value in labels)


def parse_statuses(spec: str) -> tuple[tuple[int, int], ...]:
    """``"200-299,301"`` into inclusive ranges; ValueError names the bad item."""
    ranges = []
    for item in spec.split(","):
        match = _STATUS_RANGE.match(item.strip())
        if not match:
            raise ValueError(f"{item.strip()!r} is not a status code or range like 200-299")
        low = int(match.group(1))
        ranges.append((low, int(match.group(2) or low)))
    return tuple(ranges)


def check_address(kind: str, address: str) -> None:
    """Enough of a check that a probe can start; the portal validates in full."""
    if kind == "heartbeat":
        return  # nothing is probed: the job pings the portal
    if not address or any(char.isspace() for char in address):
        raise ValueError(f"target must be non-empty without spaces, got {address!r}")
    if kind == "http" and not address.startswith(("http://", "https://")):
        raise ValueError(f"target must be an http:// or https:// URL, got {address!r}")
    if kind == "tcp":
        try:
            split_host_port(address)
        except ValueError as exc:
            raise ValueError(f"target {exc}, got {address!r}") from None


def _bool(meta: Mapping[str, str], name: str, default: bool) -> bool:
    value = meta.get(name, "").strip().lower()
    if value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _number(meta: Mapping[str, str], name: str, default: float | None, low: float,
            high: float) -> float | None:
    value = meta.get(name, "").strip()
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value}")
    return number


def _choice(meta: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = meta.get(name, "").strip() or default
    if value.upper() in choices:
        return value.upper()
    if value in choices:
        return value
    raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _secrets(meta: Mapping[str, str], name: str, address: str) -> dict[str, str]:
    """The secret settings in plaintext: sealed ones (from SD, or a classic job's /probe)
    opened with the installed keyring, and only for the target they were sealed for
    (wire/secrets.py), plain ones (an operator's /probe) as given. ValueError names the
    server's setting, never its value."""
    opened = {}
    for setting in SECRET_SETTINGS:
        value = meta.get(setting, "")
        if not is_sealed(value):
            opened[setting] = value
            continue
        if _keyring is None:
            raise ValueError(f"{setting} of {name} is sealed, but this exporter has no "
                             "PROBE_SECRETS_KEY to open it; set the portal's key")
        try:
            opened[setting] = unseal(_keyring, value, bound_to=address)
        except ValueError as exc:
            raise ValueError(f"{setting} of {name} {exc}") from None
    return opened


def _options(meta: Mapping[str, str], secrets: Mapping[str, str]) -> dict:
    """The blackbox-style probe options (docs/design.md, "Probe options") as Target fields."""
    try:
        headers = tuple(http_headers(secrets["http_headers"]).items())
    except ValueError as exc:
        raise ValueError(f"http_headers: {exc}") from None
    body = meta.get("http_body") or None
    if body is not None and len(body.encode()) > MAX_HTTP_BODY:
        raise ValueError(f"http_body must be at most {MAX_HTTP_BODY // 1024} KiB")
    username = meta.get("http_basic_auth_username") or None
    password = secrets["http_basic_auth_password"] or None
    if password is not None and username is None:
        raise ValueError("http_basic_auth_password needs http_basic_auth_username")
    token = secrets["http_bearer_token"] or None
    if token is not None and username is not None:
        raise ValueError("give http_bearer_token or http_basic_auth_username, not both")
    if (token is not None or username is not None) and any(
            header.lower() == "authorization" for header, _ in headers):
        raise ValueError("http_headers has an Authorization header, and basic auth or a "
                         "bearer token is set too")
    cert, key = meta.get("tls_client_cert") or None, secrets["tls_client_key"] or None
    if (cert is None) != (key is None):
        raise ValueError("tls_client_cert and tls_client_key go together")
    try:
        steps = query_response_steps(meta.get("tcp_query_response") or "")
    except ValueError as exc:
        raise ValueError(f"tcp_query_response: {exc}") from None
    regexes = {}
    for name in ("dns_answer_regex", "dns_answer_absent_regex"):
        regexes[name] = meta.get(name) or None
        if regexes[name]:
            try:
                keyword_regex(regexes[name])
            except ValueError as exc:
                raise ValueError(f"{name} is {exc}") from None
    ip_protocol = meta.get("ip_protocol", "").strip().lower()
    if ip_protocol not in IP_PROTOCOLS:
        raise ValueError(f"ip_protocol must be ip4, ip6 or empty, got {ip_protocol!r}")
    transport = meta.get("dns_transport", "").strip().lower() or "udp"
    if transport not in DNS_TRANSPORTS:
        raise ValueError(f"dns_transport must be udp or tcp, got {transport!r}")
    return dict(
        http_headers=headers, http_body=body,
        http_basic_auth=(username, password or "") if username is not None else None,
        http_bearer_token=token, ip_protocol=ip_protocol, tls_client_cert=cert,
        tls_client_key=key, tcp_query_response=steps, dns_transport=transport, **regexes)


def _schedule(meta: Mapping[str, str]) -> Schedule:
    """A heartbeat server's schedule from its SD settings (wire.heartbeat.SCHEDULE_SETTINGS)."""
    cron = meta.get("heartbeat_cron", "").strip() or None
    period = _number(meta, "heartbeat_period_s", None, *PERIOD_RANGE_S)
    if (cron is None) == (period is None):
        raise ValueError("a heartbeat needs heartbeat_period_s or heartbeat_cron, one of them")
    zone_name = meta.get("heartbeat_timezone", "").strip() or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"heartbeat_timezone is not a time zone, got {zone_name!r}") from None
    if cron is not None and (problem := cron_problem(cron)):
        raise ValueError(f"heartbeat_cron {problem}")
    since = _number(meta, "heartbeat_since", None, 0, 1e11)
    if since is None:
        raise ValueError("heartbeat_since is required for a heartbeat")
    return Schedule(grace_s=_number(meta, "heartbeat_grace_s", GRACE_RANGE_S[0], *GRACE_RANGE_S),
                    since=since, period_s=period, cron=cron, zone=zone)


def _public_labels(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    public = {"environment": "", "group": ""}
    for name, value in labels.items():
        if name.startswith("__") or not _LABEL_NAME.match(name):
            continue
        public[f"exported_{name}" if name in EXPORTER_LABELS else name] = str(value)
    first = tuple((name, public.pop(name)) for name in TARGET_LABELS)
    return first + tuple(sorted(public.items()))


@dataclass(frozen=True, slots=True)
class Target:
    """One server to probe. ``labels_text`` is the escaped label set of its metrics."""

    server_id: int
    name: str
    kind: str
    address: str
    labels_text: str
    interval_s: float = 30.0
    timeout_s: float = 10.0
    down_after: int = 1  # failed probes in a row before down (the portal's default is 2)
    http_method: str = "GET"
    http_statuses: tuple[tuple[int, int], ...] = ((200, 399),)
    http_keyword: str | None = None
    http_keyword_absent: bool = False
    http_keyword_regex: bool = False
    http_max_latency_ms: float | None = None
    http_follow_redirects: bool = True
    tls_verify: bool = True
    tcp_tls: bool = False
    dns_record_type: str = "A"
    dns_expected: str | None = None
    dns_resolver: str | None = None
    # blackbox_exporter's module options; the secrets among them are plaintext here (opened
    # from their sealed SD labels), so a Target is never logged or put in a metric whole.
    http_headers: tuple[tuple[str, str], ...] = ()
    http_body: str | None = None
    http_basic_auth: tuple[str, str] | None = None  # (username, password)
    http_bearer_token: str | None = None
    ip_protocol: str = ""  # "", "ip4" or "ip6"; no fallback to the other, as blackbox's false
    tls_client_cert: str | None = None  # PEM
    tls_client_key: str | None = None  # PEM
    tcp_query_response: tuple[QueryStep, ...] = ()
    dns_transport: str = "udp"
    dns_answer_regex: str | None = None  # fail unless an answer RR matches
    dns_answer_absent_regex: str | None = None  # fail if an answer RR matches
    heartbeat: Schedule | None = None  # kind "heartbeat": when its job must ping

    def __repr__(self) -> str:  # never the secrets
        return f"Target(server_id={self.server_id}, name={self.name!r}, kind={self.kind!r})"

    @classmethod
    def from_group(cls, group: Mapping) -> Target:
        """One Prometheus HTTP SD group; ValueError says which field is wrong."""
        if not isinstance(group, Mapping):
            raise ValueError("a target group must be an object")
        addresses, labels = group.get("targets"), group.get("labels")
        if not isinstance(addresses, list) or not addresses or not isinstance(addresses[0], str):
            raise ValueError("targets must be a list with one address")
        if not isinstance(labels, Mapping):
            raise ValueError("labels must be an object")
        try:
            server_id = int(labels.get("server_id", ""))
        except (TypeError, ValueError):
            shown = labels.get("server_id")
            raise ValueError(f"server_id must be a whole number, got {shown!r}") from None
        kind = labels.get("kind", "")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        name = str(labels.get("server") or addresses[0])
        meta = {key[len(META_PREFIX):]: str(value) for key, value in labels.items()
                if key.startswith(META_PREFIX)}
        public = _public_labels({**labels, "server_id": str(server_id), "server": name,
                                 "instance": name, "kind": kind})
        return cls.from_settings(server_id, name, kind, addresses[0], meta, label_text(public))

    @classmethod
    def from_settings(cls, server_id: int, name: str, kind: str, address: str,
                      meta: Mapping[str, str], labels_text: str) -> Target:
        """A target from ``__meta_servermon_*``-style settings (without the prefix)."""
        address = address.strip()
        check_address(kind, address)
        interval = _number(meta, "interval_s", 30.0, 1, 86400)
        timeout = _number(meta, "timeout_s", min(10.0, interval), 0.1, 300)
        keyword = meta.get("http_keyword") or None
        regex = _bool(meta, "http_keyword_regex", False)
        if keyword and regex:
            try:
                keyword_regex(keyword)
            except ValueError as exc:
                raise ValueError(f"http_keyword is {exc}") from None
        mode = _choice(meta, "http_keyword_mode", "contains", KEYWORD_MODES)
        options = _options(meta, _secrets(meta, name, address))
        if kind == "heartbeat":
            options["heartbeat"] = _schedule(meta)
        return cls(
            server_id=server_id, name=name, kind=kind, address=address, labels_text=labels_text,
            interval_s=interval, timeout_s=timeout,
            down_after=int(_number(meta, "down_after", 1, 1, 5)),
            http_method=_choice(meta, "http_method", "GET", HTTP_METHODS),
            http_statuses=parse_statuses(meta.get("http_accepted_statuses") or "200-399"),
            http_keyword=keyword, http_keyword_absent=mode == "absent", http_keyword_regex=regex,
            http_max_latency_ms=_number(meta, "http_max_latency_ms", None, 1, 3_600_000),
            http_follow_redirects=_bool(meta, "http_follow_redirects", True),
            tls_verify=_bool(meta, "tls_verify", True),
            tcp_tls=_bool(meta, "tcp_tls", False),
            dns_record_type=_choice(meta, "dns_record_type", "A", DNS_RECORD_TYPES),
            dns_expected=meta.get("dns_expected") or None,
            dns_resolver=meta.get("dns_resolver") or None,
            **options,
        )
