"""The contract between the exporter and the portal: what one writes and the other reads.

They are separate processes, often on separate machines, that agree on Redis names,
on the fields of what they send each other, and on what a target may be. Written once
here, a rename cannot leave one side behind. This module imports neither side (the
exporter does not load Flask, the portal does not load the probes); both import it.

Redis (docs/design.md, "The Redis contract", lists every key, including the portal's own):

* ``EVENTS_STREAM``: the exporter adds each state change (``STATE_CHANGE_FIELDS``); the
  portal's workers read it as the consumer group ``EVENTS_GROUP``, each entry once.
* ``LATEST_HASH``: server id to the JSON of the exporter's newest result
  (``LATEST_FIELDS``), overwritten at every probe.
* ``TARGETS_CHANNEL``: the portal publishes a notice when a server is added, edited or
  removed; the exporter then fetches service discovery again.
* ``DEPLOYMENT_KEY``: the deployment holding this Redis database, as JSON
  (``DEPLOYMENT_FIELDS``) with a TTL of ``DEPLOYMENT_LEASE_S``, claimed and renewed by its
  worker and its exporter alike (``DEPLOYMENT_CLAIM``); the portal's service discovery
  names its own deployment in ``DEPLOYMENT_HEADER``. A worker refuses to consume, and an
  exporter to publish, while the key names another deployment.
"""

from __future__ import annotations

import json
import os
import re
import socket
from datetime import UTC, datetime
from typing import Any

import re2

EVENTS_STREAM = "servermon:events"
EVENTS_GROUP = "portal"
LATEST_HASH = "servermon:latest"
TARGETS_CHANNEL = "servermon:targets"
DEPLOYMENT_KEY = "servermon:deployment"
DEPLOYMENT_FIELDS = ("name", "process", "host", "pid", "at")
DEPLOYMENT_LEASE_S = 60
# Compare and set in one step (KEYS[1] the key; ARGV the deployment's name, the value to
# store, the lease): two processes claiming at once cannot both take the key. Returns false
# when the key is now this deployment's, else {value, PTTL} of the other deployment's
# claim. A value naming no deployment (see deployment_holder) is taken over.
DEPLOYMENT_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then
  local ok, holder = pcall(cjson.decode, held)
  if ok and type(holder) == 'table' and type(holder['name']) == 'string'
      and holder['name'] ~= ARGV[1] then
    return {held, redis.call('PTTL', KEYS[1])}
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return false
"""
DEPLOYMENT_HEADER = "X-Servermon-Deployment"

STATES = ("up", "down")  # what a probe can say; "unknown" is only ever the lack of one
STATE_CHANGE_FIELDS = ("event_id", "server_id", "status", "previous", "reason", "latency_ms",
                       "at", "last_ok_at")
LATEST_FIELDS = ("server_id", "status", "reason", "latency_ms", "checked_at", "status_code",
                 "cert_expiry", "beats", "beat_latency_ms")
HEARTBEATS = 40  # outcomes the exporter keeps per server, in memory, for ``beats``

KINDS = ("http", "tcp", "icmp", "dns", "heartbeat")
# What the exporter probes; a "heartbeat" server is a job that pings the portal instead,
# judged against its schedule (wire/heartbeat.py).
PROBED_KINDS = ("http", "tcp", "icmp", "dns")
DNS_RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "PTR", "SRV", "CAA")
HTTP_METHODS = ("GET", "HEAD", "POST")
KEYWORD_MODES = ("contains", "absent")

# Labels every probe series of a server carries, in this order; the server's own labels
# follow. Service discovery sends them, and the exporter puts them on each series.
# ``instance`` is the server's name, as blackbox's classic job makes it the target's: the
# exporter job scrapes with honor_labels, so community dashboards that pick targets by
# ``instance`` see one per server, and resharding the exporter changes no series.
TARGET_LABELS = ("server_id", "server", "instance", "kind", "environment", "group")
# A server's probe settings: ``__meta_servermon_<name>`` labels in service discovery, and
# (all but the schedule) query parameters of the exporter's one-off ``/probe``.
META_PREFIX = "__meta_servermon_"
PROBE_SETTINGS = (
    "timeout_s", "http_method", "http_accepted_statuses", "http_keyword", "http_keyword_mode",
    "http_keyword_regex", "http_max_latency_ms", "http_follow_redirects", "tls_verify",
    "tcp_tls", "dns_record_type", "dns_expected", "dns_resolver",
    # blackbox_exporter's module fields (docs/design.md, "Probe options"):
    "http_headers", "http_body", "http_basic_auth_username", "http_basic_auth_password",
    "http_bearer_token", "ip_protocol", "tls_client_cert", "tls_client_key",
    "tcp_query_response", "dns_transport", "dns_answer_regex", "dns_answer_absent_regex",
)
SD_SETTINGS = ("interval_s", "down_after", *PROBE_SETTINGS)
HEARTBEAT_ADDRESS = "heartbeat:{server_id}"  # a heartbeat server's SD target: nothing to probe
# Settings whose values are secrets: stored and sent through SD sealed (wire/secrets.py),
# never shown by the portal, unsealed by the exporter when it builds the target.
SECRET_SETTINGS = ("http_headers", "http_basic_auth_password", "http_bearer_token",
                   "tls_client_key")
IP_PROTOCOLS = ("", "ip4", "ip6")  # "": whichever the name resolves to first
DNS_TRANSPORTS = ("udp", "tcp")
MAX_HTTP_BODY = 64 * 1024  # bytes of http_body, UTF-8
MAX_HTTP_HEADERS = 30
TCP_STEP_KINDS = ("expect", "send", "starttls")
MAX_TCP_STEPS = 50

HOST_PORT = "must be host:port, e.g. db1.bank.local:5432 or [2001:db8::1]:443"
_BRACKETED = re.compile(r"^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$")
_PLAIN = re.compile(r"^([^:\s\[\]]+)(?::(\d{1,5}))?$")
_BARE_V6 = re.compile(r"^[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*$")

# How keyword regexes are compiled, on both sides. A probe asks only whether the pattern
# occurs, so capture groups are never tracked: RE2 then answers from its DFA, where
# tracking them took 42 s for ``(\w+\s*){500}`` over 1 MiB. ``max_mem`` (RE2's default,
# stated) bounds each compiled pattern, program and DFA cache; less makes RE2 give up its
# DFA for its slower NFA sooner. Errors are raised, not also printed to stderr.
_KEYWORD_OPTIONS = re2.Options()
_KEYWORD_OPTIONS.never_capture = True
_KEYWORD_OPTIONS.max_mem = 8 << 20
_KEYWORD_OPTIONS.log_errors = False


def channel(name: str, client: Any) -> str:
    """The pub/sub channel ``name`` of the deployment that ``client`` (a redis-py client,
    plain or asyncio) talks to. Pub/sub ignores the database number, so two deployments
    sharing one Redis on different databases (staging and production, or two test runs)
    would hear each other; the number goes into the name instead: ``<name>:db<N>``."""
    return f"{name}:db{client.get_connection_kwargs().get('db', 0)}"


def redis_database(client: Any) -> str:
    """``Redis database N at redis://host:port/N`` for ``client`` (redis-py, plain or
    asyncio), for the lines both sides log about the database: built from the connection,
    so a password in the URL never reaches a log."""
    kwargs = client.get_connection_kwargs()
    db = kwargs.get("db", 0)
    if kwargs.get("path"):
        return f"Redis database {db} at unix://{kwargs['path']}?db={db}"
    tls = "SSL" in client.connection_pool.connection_class.__name__
    host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
    host = f"[{host}]" if ":" in host else host
    return f"Redis database {db} at {'rediss' if tls else 'redis'}://{host}:{port}/{db}"


def deployment_claim(name: str, process: str) -> str:
    """The ``DEPLOYMENT_KEY`` value a ``process`` ("worker" or "exporter") of deployment
    ``name`` stores: who renewed the claim last, and when."""
    return json.dumps({"name": name, "process": process, "host": socket.gethostname(),
                       "pid": os.getpid(), "at": datetime.now(UTC).isoformat(timespec="seconds")})


def deployment_holder(value: str | bytes | None) -> dict | None:
    """The ``DEPLOYMENT_KEY`` value as a dict, or None when there is none or it names no
    deployment (unreadable, or without a string ``name``): such a value blocks nobody."""
    if value is None:
        return None
    try:
        holder = json.loads(value)
    except ValueError:
        return None
    return holder if isinstance(holder, dict) and isinstance(holder.get("name"), str) else None


def keyword_regex(pattern: str) -> re2._Regexp:
    """``http_keyword`` as the regex a probe searches the body with: RE2, which runs in
    time linear in the body, where Python's ``re`` can backtrack for seconds on one line
    (``^(a+)+$``). The portal refuses what RE2 cannot compile, and so does the exporter
    for targets that never went through the portal; ValueError says why, in RE2's words.
    """
    try:
        return re2.compile(pattern, _KEYWORD_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "refused by RE2"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
    except UnicodeError:
        reason = "not valid Unicode"
    raise ValueError(f"not a valid regular expression ({reason}); keyword regexes are RE2 "
                     "syntax, without backreferences or lookarounds")


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``; with ``default_port``, also a bare host or IPv6
    address (a DNS resolver). ValueError says what is wrong; the host is not checked
    further (the portal checks it is a valid name or address, the probe resolves it)."""
    match = _BRACKETED.match(value) or _PLAIN.match(value)
    if match and (match.group(2) or default_port is not None):
        host, port = match.group(1), int(match.group(2) or default_port)
    elif default_port is not None and value.count(":") > 1 and _BARE_V6.match(value):
        host, port = value, default_port
    else:
        raise ValueError(HOST_PORT)
    if not 1 <= port <= 65535:
        raise ValueError("must have a port between 1 and 65535")
    return host, port


# An HTTP header name is a token (RFC 9110); these are the probe's own to set.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$")
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
MAX_HEADER_VALUE = 8192


def http_headers(value: object) -> dict[str, str]:
    """``http_headers`` (an object, or its JSON text) checked: at most MAX_HTTP_HEADERS, each
    name a token other than Host, Content-Length and Transfer-Encoding, each value one line.
    ValueError names the header, never its value."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError("must be a JSON object of header names to values") from None
    if not isinstance(value, dict):
        raise ValueError("must be an object of header names to values")
    if len(value) > MAX_HTTP_HEADERS:
        raise ValueError(f"at most {MAX_HTTP_HEADERS} headers")
    seen: set[str] = set()
    for name, text in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValueError(f"{str(name)[:60]!r} is not a valid header name (letters, digits "
                             "and !#$%&'*+-.^_`|~)")
        if name.lower() in FORBIDDEN_HEADERS:
            raise ValueError(f"{name} is set by the probe itself and cannot be given")
        if name.lower() in seen:
            raise ValueError(f"{name} is given twice")
        seen.add(name.lower())
        if not isinstance(text, str):
            raise ValueError(f"the value of {name} must be text")
        if any(char in text for char in "\r\n\0"):
            raise ValueError(f"the value of {name} must be one line (no CR, LF or NUL)")
        if len(text) > MAX_HEADER_VALUE:
            raise ValueError(f"the value of {name} must be at most {MAX_HEADER_VALUE} characters")
    return dict(value)


QueryStep = tuple[str | None, str | None, bool]  # (expect, send, starttls), as blackbox's


def query_response_steps(value: object) -> tuple[QueryStep, ...]:
    """``tcp_query_response`` (a list, or its JSON text) as blackbox's steps: each an object
    with ``expect`` (an RE2 regex a line must match), ``send`` (text, sent with a newline)
    and/or ``starttls`` (true), done in that order. ValueError names the step."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise ValueError("must be a JSON list of steps such as "
                             '[{"expect": "^220"}, {"send": "QUIT"}]') from None
    if not isinstance(value, list):
        raise ValueError('must be a list of steps such as [{"expect": "^220"}, {"send": "QUIT"}]')
    if len(value) > MAX_TCP_STEPS:
        raise ValueError(f"at most {MAX_TCP_STEPS} steps")
    steps = []
    for number, step in enumerate(value, 1):
        if not isinstance(step, dict) or not step:
            raise ValueError(f"step {number} must be an object with expect, send or starttls")
        unknown = set(step) - set(TCP_STEP_KINDS)
        if unknown:
            raise ValueError(f"step {number}: unknown key {sorted(unknown)[0]!r} (expect, send "
                             "and starttls are known)")
        expect, send, starttls = step.get("expect"), step.get("send"), step.get("starttls", False)
        if expect is not None:
            if not isinstance(expect, str) or not expect:
                raise ValueError(f"step {number}: expect must be a non-empty regular expression")
            try:
                keyword_regex(expect)
            except ValueError as exc:
                raise ValueError(f"step {number}: expect is {exc}") from None
        if send is not None and (not isinstance(send, str) or len(send) > 4096):
            raise ValueError(f"step {number}: send must be text of at most 4096 characters")
        if not isinstance(starttls, bool):
            raise ValueError(f"step {number}: starttls must be true or false")
        if expect is None and send is None and not starttls:
            raise ValueError(f"step {number} does nothing")
        steps.append((expect, send, starttls))
    return tuple(steps)
