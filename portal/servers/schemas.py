"""What a server registration may look like: every field checked, the target per kind.

The same model validates a create and the merged result of an edit, so a change to one
field (say ``kind``) is checked against all the others.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from pydantic import AfterValidator, Field, ValidationError, model_validator

import wire
from portal.errors import field_errors
from portal.schemas import DbId, Line, PageQuery, Strict
from portal.servers.models import STATUSES
from wire import (
    DNS_RECORD_TYPES,
    DNS_TRANSPORTS,
    HTTP_METHODS,
    IP_PROTOCOLS,
    KEYWORD_MODES,
    KINDS,
    MAX_HTTP_BODY,
    PROBED_KINDS,
    STATES,
)
from wire.cron import cron_problem
from wire.heartbeat import GRACE_RANGE_S, PERIOD_RANGE_S
from wire.secrets import is_sealed

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,62}$")
# Labels the exporter sets itself; a server's own labels may not override them.
# ``exporter`` is the resources job's (portal/servers/discovery.py), which names the kind of
# exporter scraped there.
RESERVED_LABELS = frozenset(
    {"server_id", "server", "kind", "environment", "group", "job", "instance", "target", "module",
     "exporter"}
)
# What answers at a server's resources_endpoint: node_exporter (Linux, :9100) or
# windows_exporter (:9182). Their metric names differ; the label says which to read.
RESOURCE_EXPORTERS = ("node", "windows")
STATUS_RANGE = re.compile(r"^([1-5]\d\d)(?:-([1-5]\d\d))?$")
MAX_LABELS = 20
HEARTBEAT_FIELDS = ("heartbeat_period_s", "heartbeat_cron", "heartbeat_grace_s")
DEFAULT_GRACE_S = 300  # a heartbeat's grace when none is given: five minutes


def label_selector(text: str) -> tuple[str, str]:
    """``key=value``, as maintenance windows, reports and list filters select servers
    (``servers.labels``); ValueError says what it must look like."""
    key, sep, value = text.partition("=")
    if not sep or not LABEL_NAME.match(key) or not value:
        raise ValueError("must be key=value, e.g. environment=production")
    return key, value


def check_scope(server_id: int | None, label: str | None) -> None:
    """One server or one label selector, what a maintenance window or a status page's
    component covers; the ValueError names the field that is wrong."""
    if (server_id is None) == (label is None):
        raise ValueError("server_id: give either server_id or label, not both")
    if label is not None:
        try:
            label_selector(label)
        except ValueError as exc:
            raise ValueError(f"label: {exc}") from None


def is_hostname(value: str) -> bool:
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    return all(_HOST_LABEL.match(part) for part in name.split("."))


def is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return is_hostname(value)


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """As the exporter reads it (``wire.split_host_port``), with a host that is a valid name
    or address; ValueError naming what is wrong."""
    host, port = wire.split_host_port(value, default_port)
    if not is_host(host):
        raise ValueError(f"{host!r} is not a valid host name or IP address")
    return host, port


def check_http_target(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("enter a URL starting with http:// or https://")
    if not parts.hostname or not is_host(parts.hostname):
        raise ValueError("enter a URL with a valid host name or IP address")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    if re.search(r"\s", value):
        raise ValueError("must not contain spaces")
    return value


def check_target(kind: str, target: str, record_type: str = "A") -> str:
    if kind == "http":
        return check_http_target(target)
    if kind == "tcp":
        split_host_port(target)
        return target
    if kind == "icmp":
        if not is_host(target):
            raise ValueError("enter a host name or IP address, e.g. core-sw1.bank.local")
        return target
    if record_type == "PTR" and is_host(target) and not is_hostname(target):
        return target  # an IP address, reversed by the probe
    if not is_hostname(target):
        raise ValueError("must be a DNS name, e.g. www.bank.co.ug")
    return target


def normalize_statuses(value: str) -> str:
    """``"200-299, 301"`` style lists of codes and ranges, tidied."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ValueError("must list at least one status code or range, e.g. 200-299")
    for item in items:
        match = STATUS_RANGE.match(item)
        if not match:
            raise ValueError(f"{item!r} is not a status code (100-599) or range like 200-299")
        if match.group(2) and int(match.group(2)) < int(match.group(1)):
            raise ValueError(f"range {item!r} ends before it starts")
    return ",".join(items)


def _label_value(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > 64:
        raise ValueError("must be at most 64 characters")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    for key, label_value in value.items():
        if not LABEL_NAME.match(key) or key.startswith("__"):
            raise ValueError(f"{key!r} is not a valid label name (letters, digits, underscore)")
        if key in RESERVED_LABELS:
            raise ValueError(f"{key!r} is reserved")
        if not 1 <= len(label_value) <= 255:
            raise ValueError(f"value of {key!r} must be 1 to 255 characters")
    return value


def _resolver(value: str | None) -> str | None:
    if not value:
        return None
    split_host_port(value, default_port=53)
    return value


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def _resources_endpoint(value: str | None) -> str | None:
    """``host:port`` Prometheus scrapes /metrics at; the probe policy is checked on save
    (service.validate_spec), as for a probe's target."""
    if not value:
        return None
    split_host_port(value)
    return value


# Which kinds each probe option applies to; a value given for another kind is refused, so
# a setting never sits unused where an operator thinks it counts.
OPTION_KINDS = {
    "http_headers": ("http",), "http_body": ("http",), "http_basic_auth_username": ("http",),
    "http_basic_auth_password": ("http",), "http_bearer_token": ("http",),
    "tls_client_cert": ("http", "tcp"), "tls_client_key": ("http", "tcp"),
    "tcp_query_response": ("tcp",), "dns_answer_regex": ("dns",),
    "dns_answer_absent_regex": ("dns",),
}
MAX_PEM = 64 * 1024


def _secret_text(value: str | None) -> str | None:
    """A secret's plaintext; sealed text reaches here only opened (service.validate_spec)."""
    if not value:
        return None
    if is_sealed(value):
        raise ValueError("give the plaintext; sealed values are opened by the portal itself")
    return value


def _one_line(value: str | None) -> str | None:
    if value and any(char in value for char in "\r\n\0"):
        raise ValueError("must be one line (no CR, LF or NUL)")
    return value


def _headers(value: dict[str, str] | None) -> dict[str, str] | None:
    if not value:
        return None
    for text in value.values():
        if is_sealed(text):
            raise ValueError("give the plaintext values")
    return wire.http_headers(value)


def _body(value: str | None) -> str | None:
    if not value:
        return None
    if len(value.encode()) > MAX_HTTP_BODY:
        raise ValueError(f"must be at most {MAX_HTTP_BODY // 1024} KiB")
    return value


def _regex(value: str | None) -> str | None:
    if not value:
        return None
    wire.keyword_regex(value)
    return value


def _steps(value: list | None) -> list | None:
    if not value:
        return None
    wire.query_response_steps(value)
    return value


def _certificates(value: str | None) -> str | None:
    """PEM: the client certificate, then any intermediates it needs."""
    if not value:
        return None
    if len(value) > MAX_PEM:
        raise ValueError(f"must be at most {MAX_PEM // 1024} KiB")
    try:
        x509.load_pem_x509_certificates(value.encode())
    except ValueError:
        raise ValueError("must be a PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    return value.strip() + "\n"


def _private_key(value: str | None) -> str | None:
    value = _secret_text(value)
    if value is None:
        return None
    if len(value) > MAX_PEM:
        raise ValueError(f"must be at most {MAX_PEM // 1024} KiB")
    try:
        key = serialization.load_pem_private_key(value.encode(), password=None)
    except TypeError:
        raise ValueError("must be a private key without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("must be a PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                      | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        raise ValueError("must be an RSA, EC or EdDSA private key")
    return value.strip() + "\n"


def key_matches(cert_pem: str, key_pem: str) -> bool:
    """Whether the key is the private half of the first certificate's public key."""
    cert = x509.load_pem_x509_certificates(cert_pem.encode())[0]
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(serialization.Encoding.DER, spki) == \
        key.public_key().public_bytes(serialization.Encoding.DER, spki)


def _cron(value: str | None) -> str | None:
    if not value:
        return None
    problem = cron_problem(value)
    if problem:
        raise ValueError(problem)
    return " ".join(value.split())


class ServerSpec(Strict):
    name: Line = Field(min_length=1, max_length=100)
    kind: Literal[KINDS]  # type: ignore[valid-type]
    # Required for every kind but "heartbeat", which has nothing to probe (stored as "").
    target: Line | None = Field(None, max_length=2048)
    interval_s: int = Field(ge=10, le=3600)
    timeout_s: int = Field(ge=1, le=60)
    enabled: bool = True
    # Down after this many failed probes in a row: the scheduled one, then retries
    # CONFIRM_DELAY_S apart (exporter/scheduler.py). 1 reports the first failure.
    down_after: int = Field(2, ge=1, le=5)

    @model_validator(mode="before")
    @classmethod
    def _legacy_confirm_down(cls, data: object) -> object:
        """``confirm_down`` (before down_after): true meant 2 failures, false 1. Still taken
        from API clients written for it; never returned."""
        if isinstance(data, dict) and "confirm_down" in data and "down_after" not in data:
            data = dict(data)
            legacy = data.pop("confirm_down")
            if isinstance(legacy, bool):
                data["down_after"] = 2 if legacy else 1
            else:
                data["confirm_down"] = legacy  # refused below as the unknown field it is
        return data
    environment: Annotated[Line | None, AfterValidator(_label_value)] = None
    group: Annotated[Line | None, AfterValidator(_label_value)] = None
    description: str | None = Field(None, max_length=1000)
    labels: Annotated[dict[str, Line], AfterValidator(_labels)] = Field(default_factory=dict)
    owner_id: DbId | None = None
    # The server this one cannot be reached without (portal/servers/dependencies.py).
    depends_on_id: DbId | None = None
    # Minutes before an unacknowledged incident escalates; None: the setting; 0: never.
    escalate_after_min: int | None = Field(None, ge=0, le=1440)
    # Where Prometheus scrapes the server's CPU, memory and disks (job servermon-nodes,
    # through /api/sd/nodes), whatever its kind; None: not scraped.
    resources_endpoint: Annotated[Line | None, AfterValidator(_resources_endpoint)] = Field(
        None, max_length=255)
    resources_exporter: Literal[RESOURCE_EXPORTERS] = "node"  # type: ignore[valid-type]

    http_method: Literal[HTTP_METHODS] = "GET"  # type: ignore[valid-type]
    http_accepted_statuses: Annotated[str, AfterValidator(normalize_statuses)] = "200-399"
    http_keyword: Annotated[str | None, AfterValidator(_blank_to_none)] = Field(None, max_length=500)
    http_keyword_mode: Literal[KEYWORD_MODES] = "contains"  # type: ignore[valid-type]
    http_keyword_regex: bool = False
    http_max_latency_ms: int | None = Field(None, ge=1, le=60000)
    http_follow_redirects: bool = True
    tls_verify: bool = True
    tcp_tls: bool = False
    dns_record_type: Literal[DNS_RECORD_TYPES] = "A"  # type: ignore[valid-type]
    dns_expected: Line | None = Field(None, max_length=500)
    dns_resolver: Annotated[Line | None, AfterValidator(_resolver)] = None
    # blackbox's module options (docs/design.md, "Probe options"); the secrets
    # (wire.SECRET_SETTINGS) in plaintext here, sealed in their columns.
    http_headers: Annotated[dict[str, str] | None, AfterValidator(_headers)] = None
    http_body: Annotated[str | None, AfterValidator(_body)] = None
    http_basic_auth_username: Annotated[Line | None, AfterValidator(_blank_to_none)] = Field(
        None, max_length=255)
    http_basic_auth_password: Annotated[str | None, AfterValidator(_one_line),
                                        AfterValidator(_secret_text)] = Field(None, max_length=1024)
    http_bearer_token: Annotated[str | None, AfterValidator(_one_line),
                                 AfterValidator(_secret_text)] = Field(None, max_length=8192)
    ip_protocol: Literal[IP_PROTOCOLS] = ""  # type: ignore[valid-type]
    tls_client_cert: Annotated[str | None, AfterValidator(_certificates)] = None
    tls_client_key: Annotated[str | None, AfterValidator(_private_key)] = None
    tcp_query_response: Annotated[list[dict] | None, AfterValidator(_steps)] = None
    dns_transport: Literal[DNS_TRANSPORTS] = "udp"  # type: ignore[valid-type]
    dns_answer_regex: Annotated[str | None, AfterValidator(_regex)] = Field(None, max_length=500)
    dns_answer_absent_regex: Annotated[str | None, AfterValidator(_regex)] = Field(
        None, max_length=500)
    # Kind "heartbeat" (wire/heartbeat.py): a period or a cron expression, and a grace.
    heartbeat_period_s: int | None = Field(None, ge=PERIOD_RANGE_S[0], le=PERIOD_RANGE_S[1])
    heartbeat_cron: Annotated[Line | None, AfterValidator(_cron)] = Field(None, max_length=100)
    heartbeat_grace_s: int | None = Field(None, ge=GRACE_RANGE_S[0], le=GRACE_RANGE_S[1])

    @model_validator(mode="after")
    def _cross_checks(self) -> ServerSpec:
        problems = cross_problems(dict(self))
        if problems:  # every one at once, each on a line naming its field
            raise ValueError("\n".join(f"{name}: {message}" for name, message in problems.items()))
        if self.kind == "heartbeat":
            # Nothing to probe, nothing to confirm: a late or failed run is down at once.
            self.target, self.down_after = "", 1
            if self.heartbeat_grace_s is None:
                self.heartbeat_grace_s = DEFAULT_GRACE_S
        return self


def _whole(value: object) -> int | None:
    """An int field's value as a client sent it, when it is one (for checks across fields)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value)
    return None


def cross_problems(values: dict) -> dict[str, str]:
    """The rules between fields, each checked when the fields it reads are themselves valid.

    ``validate_spec`` runs them over the fields that passed even when others did not, so a
    form reports the target that does not fit its kind together with the interval that is
    too short, not one after the other.
    """
    problems: dict[str, str] = {}
    kind, target = values.get("kind"), values.get("target")
    record_type = values.get("dns_record_type") or "A"
    problems.update(heartbeat_problems(values))
    if kind in PROBED_KINDS and "target" in values and not (isinstance(target, str)
                                                           and target.strip()):
        problems["target"] = "is required"
    if kind in PROBED_KINDS and isinstance(target, str) and target.strip():
        try:
            check_target(kind, target.strip(),
                         record_type if record_type in DNS_RECORD_TYPES else "A")
        except ValueError as exc:
            problems["target"] = str(exc)
    interval, timeout = _whole(values.get("interval_s")), _whole(values.get("timeout_s"))
    if interval is not None and timeout is not None and timeout >= interval:
        problems["timeout_s"] = f"must be shorter than the interval ({interval} seconds)"
    latency = _whole(values.get("http_max_latency_ms"))
    if latency and timeout is not None and latency > timeout * 1000:
        problems["http_max_latency_ms"] = (f"must not exceed the timeout ({timeout} seconds"
                                           f" = {timeout * 1000} ms)")
    keyword = values.get("http_keyword")
    if isinstance(keyword, str) and keyword and values.get("http_keyword_regex") is True:
        try:
            wire.keyword_regex(keyword)
        except ValueError as exc:
            problems["http_keyword"] = str(exc)
    problems.update(option_problems(values))
    return problems


def heartbeat_problems(values: dict) -> dict[str, str]:
    """A heartbeat has one schedule and no target; other kinds have no schedule."""
    kind = values.get("kind")
    period, cron = values.get("heartbeat_period_s"), values.get("heartbeat_cron")
    if kind != "heartbeat":
        return {name: "applies only to heartbeat servers" for name in HEARTBEAT_FIELDS
                if values.get(name) and kind in KINDS}
    problems = {}
    if values.get("target"):
        problems["target"] = ("a heartbeat has no target: its job pings the portal; leave "
                              "it empty")
    if period and cron:
        problems["heartbeat_cron"] = "give a period or a cron expression, not both"
    elif not period and not cron and {"heartbeat_period_s", "heartbeat_cron"} <= set(values):
        problems["heartbeat_period_s"] = "give a period (seconds) or a cron expression"
    return problems


def option_problems(values: dict) -> dict[str, str]:
    """The probe options against the kind and each other."""
    problems: dict[str, str] = {}
    kind = values.get("kind")
    if kind in KINDS:
        for name, kinds in OPTION_KINDS.items():
            if values.get(name) and kind not in kinds:
                problems[name] = (f"applies only to {' and '.join(kinds)} servers; clear it "
                                  f"for a {kind} server")
        if kind != "dns" and values.get("dns_transport") == "tcp":
            problems["dns_transport"] = "applies only to dns servers"
    username, password = values.get("http_basic_auth_username"), values.get(
        "http_basic_auth_password")
    if password and not username:
        problems.setdefault("http_basic_auth_username", "is needed with a basic auth password")
    if values.get("http_bearer_token") and (username or password):
        problems.setdefault("http_bearer_token", "give a bearer token or basic auth, not both")
    headers = values.get("http_headers")
    if isinstance(headers, dict) and (values.get("http_bearer_token") or username) and any(
            str(name).lower() == "authorization" for name in headers):
        problems.setdefault("http_headers", "has an Authorization header, and basic auth or a "
                                            "bearer token is set too")
    cert, key = values.get("tls_client_cert"), values.get("tls_client_key")
    if cert and not key:
        problems.setdefault("tls_client_key", "is needed with a client certificate")
    elif key and not cert:
        problems.setdefault("tls_client_cert", "is needed with a client key")
    elif cert and key and isinstance(cert, str) and isinstance(key, str):
        try:
            if not key_matches(cert, key):
                problems.setdefault("tls_client_key", "does not match the client certificate")
        except (ValueError, TypeError, UnsupportedAlgorithm):
            pass  # the field's own check says what is wrong with it
    steps = values.get("tcp_query_response")
    if steps and values.get("tcp_tls") is True and isinstance(steps, list) and any(
            isinstance(step, dict) and step.get("starttls") for step in steps):
        problems.setdefault("tcp_query_response",
                            "has a starttls step, but tcp_tls already starts with TLS")
    return problems


def spec_errors(exc: ValidationError, data: dict) -> dict[str, str]:
    """Every problem of a refused spec at once: pydantic's, and the rules between fields
    over the fields it accepted (which its after-validator never reached)."""
    details = field_errors(exc)
    valid = {name: value for name, value in data.items() if name not in details}
    return {**cross_problems(valid), **details}


class ServerQuery(PageQuery):
    name: Line | None = Field(None, max_length=100)
    kind: Literal[KINDS] | None = None  # type: ignore[valid-type]
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    environment: Line | None = None
    group: Line | None = None
    enabled: bool | None = None
    label: list[str] = Field(default_factory=list)
    sort: Literal["name", "-name", "status", "id", "-id"] = "name"

    @model_validator(mode="after")
    def _labels_are_pairs(self) -> ServerQuery:
        for item in self.label:
            try:
                label_selector(item)
            except ValueError:
                raise ValueError(f"label: {item!r} must be key=value") from None
        return self

    def label_pairs(self) -> list[tuple[str, str]]:
        return [label_selector(item) for item in self.label]


# The fields of a spec kept in a column of the same name (``group`` is ``group_name``, and
# labels have a table of their own).
SPEC_COLUMNS = tuple(name for name in ServerSpec.model_fields if name not in ("labels", "group"))


class LogQuery(PageQuery):
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    status: Literal[STATES] | None = None  # type: ignore[valid-type]
