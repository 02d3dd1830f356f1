"""A probe target, as service discovery describes it (one group per server)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PUBLIC_FIRST = ("server_id", "server", "kind", "environment", "group")
_STATUS_RANGE = re.compile(r"^([1-5]\d\d)(?:-([1-5]\d\d))?$")


def _bool(value: str | None, default: bool) -> bool:
    if value in (None, ""):
        return default
    return value == "true"


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def parse_statuses(spec: str) -> tuple[tuple[int, int], ...]:
    ranges = []
    for item in spec.split(","):
        match = _STATUS_RANGE.match(item.strip())
        if match:
            low = int(match.group(1))
            ranges.append((low, int(match.group(2) or low)))
    return tuple(ranges) or ((200, 399),)


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass(frozen=True)
class Target:
    server_id: int
    name: str
    kind: str
    address: str
    labels: tuple[tuple[str, str], ...]
    interval_s: float = 30
    timeout_s: float = 10
    confirm_down: bool = True
    http_method: str = "GET"
    http_statuses: tuple[tuple[int, int], ...] = ((200, 399),)
    http_keyword: str | None = None
    http_keyword_absent: bool = False
    http_keyword_regex: bool = False
    http_max_latency_ms: int | None = None
    http_follow_redirects: bool = True
    tls_verify: bool = True
    tcp_tls: bool = False
    dns_record_type: str = "A"
    dns_expected: str | None = None
    dns_resolver: str | None = None
    label_text: str = field(default="", compare=False)

    @classmethod
    def from_group(cls, group: dict) -> Target:
        """One Prometheus HTTP SD group; ValueError/KeyError when it is not one of ours."""
        labels: dict[str, str] = group["labels"]
        meta = {k[len("__meta_servermon_"):]: v for k, v in labels.items()
                if k.startswith("__meta_servermon_")}
        public = {k: v for k, v in labels.items() if not k.startswith("__")}
        public.setdefault("environment", "")
        public.setdefault("group", "")
        ordered = tuple((k, public[k]) for k in _PUBLIC_FIRST) + tuple(
            sorted((k, v) for k, v in public.items() if k not in _PUBLIC_FIRST))
        text = ",".join(f'{k}="{escape_label(v)}"' for k, v in ordered)
        return cls(
            server_id=int(public["server_id"]),
            name=public["server"],
            kind=public["kind"],
            address=group["targets"][0],
            labels=ordered,
            interval_s=float(meta.get("interval_s") or 30),
            timeout_s=float(meta.get("timeout_s") or 10),
            confirm_down=_bool(meta.get("confirm_down"), True),
            http_method=meta.get("http_method") or "GET",
            http_statuses=parse_statuses(meta.get("http_accepted_statuses") or "200-399"),
            http_keyword=meta.get("http_keyword") or None,
            http_keyword_absent=meta.get("http_keyword_mode") == "absent",
            http_keyword_regex=_bool(meta.get("http_keyword_regex"), False),
            http_max_latency_ms=_int(meta.get("http_max_latency_ms")),
            http_follow_redirects=_bool(meta.get("http_follow_redirects"), True),
            tls_verify=_bool(meta.get("tls_verify"), True),
            tcp_tls=_bool(meta.get("tcp_tls"), False),
            dns_record_type=meta.get("dns_record_type") or "A",
            dns_expected=meta.get("dns_expected") or None,
            dns_resolver=meta.get("dns_resolver") or None,
            label_text=text,
        )
