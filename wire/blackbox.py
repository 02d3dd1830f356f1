"""blackbox_exporter's configuration file (``blackbox.yml``) read as servermon probe settings.

Both the exporter (``BLACKBOX_CONFIG``, so ``/probe?module=http_2xx&target=...`` works as
it does against blackbox) and the portal's ``servers import-blackbox`` command read it
here, so a module means the same thing in both.

A module becomes a kind and the settings servermon already has (``wire.PROBE_SETTINGS``,
as text, the way service discovery sends them). Every field is either mapped, accepted
because its value is blackbox's default (``fail_if_ssl: false``, ``valid_rcodes:
[NOERROR]``), listed in ``IGNORED`` because it changes nothing servermon checks, or
refused with a message naming the module and the field: a probe that quietly checks less
than its configuration says would report "up" for something nobody checked.

Where servermon's shape differs from blackbox's:

* DNS: blackbox's target is the resolver and ``query_name`` the name asked; servermon's
  target is the name and ``dns_resolver`` the resolver. :meth:`Module.probe_target`
  turns one into the other.
* HTTP: blackbox adds ``http://`` to a target without a scheme; so does
  :meth:`Module.probe_target`. ``valid_status_codes`` defaults to 2xx, as blackbox's.
* One body regex: servermon has one keyword per server, so at most one of
  ``fail_if_body_matches_regexp`` / ``fail_if_body_not_matches_regexp``, with one regex,
  is taken. Joining several into one alternation would change their meaning (blackbox
  wants *all* of the "not matches" ones to match), so more are refused.
* ``preferred_ip_protocol`` with ``ip_protocol_fallback: true`` (blackbox's default)
  may use either family, which is servermon's ``ip_protocol: ""``; with the fallback
  off it is that family only (``ip4``/``ip6``).
* ``query_response`` keeps blackbox's steps (expect, then send, then starttls), but a
  send that reuses what its expect matched (``${1}``) is refused.
* ``cert_file``, ``key_file``, ``password_file``, ``bearer_token_file``, ``body_file``
  and ``credentials_file`` are read when the file is loaded (relative paths from the
  configuration file's directory, as blackbox resolves them); their contents become the
  setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wire import DNS_RECORD_TYPES, HTTP_METHODS, MAX_HTTP_BODY, keyword_regex
from wire import PROBED_KINDS as KINDS  # a heartbeat is not probed: no module for it

PROBERS = ("http", "tcp", "icmp", "dns")
# Fields that mean nothing for servermon's probes: no check depends on them.
IGNORED = {
    "http.enable_http2": "servermon speaks HTTP/1.1; what it checks is the same",
    "http.skip_resolve_phase_with_proxy": "only matters with proxy_url, which is refused",
}
_GO_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
           "d": 86400, "w": 604800, "y": 31536000}
_MISSING = object()


class BlackboxError(ValueError):
    """The file cannot be used as it is; the message lists every problem, one a line, each
    naming the module and the field (``module http_2xx: http.proxy_url: ...``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Module:
    """One blackbox module as servermon probes it."""

    name: str
    kind: str
    settings: Mapping[str, str] = field(default_factory=dict)  # PROBE_SETTINGS names, as text
    timeout_s: float | None = None  # the module's own timeout, when it sets one
    query_name: str | None = None  # DNS: the name asked (blackbox's target is the resolver)

    def probe_target(self, target: str) -> tuple[str, dict[str, str]]:
        """blackbox's ``target`` parameter as servermon's target and settings."""
        settings = dict(self.settings)
        if self.kind == "dns" and self.query_name is not None:
            settings["dns_resolver"] = target
            return self.query_name, settings
        if self.kind == "http" and "://" not in target:
            target = f"http://{target}"
        return target, settings


def lookup(modules: Mapping[str, Module], name: str) -> Module:
    """The module called ``name``: a servermon kind (its own probe, with its defaults) or
    one of ``modules``. ValueError names an unknown module and lists the known ones."""
    if name in KINDS:
        return Module(name=name, kind=name)
    module = modules.get(name)
    if module is None:
        known = ", ".join([*KINDS, *sorted(set(modules) - set(KINDS))])
        raise ValueError(f"unknown module {name!r} (known: {known})")
    return module


def parse_duration(value: object) -> float:
    """``5s``, ``1m30s``, ``500ms``, ``1.5s`` (Go's and Prometheus's forms) in seconds."""
    text = str(value).strip()
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f"must be a duration such as 5s or 1m30s, got {value!r}")
    return sum(float(number) * _UNIT_S[unit] for number, unit in _DURATION_PART.findall(text))


class _Reader:
    """Walks one module, collecting settings and problems."""

    def __init__(self, name: str, base_dir: Path) -> None:
        self.name = name
        self.base_dir = base_dir
        self.problems: list[str] = []
        self.settings: dict[str, str] = {}

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"module {self.name}: {path}: {message}")

    def section(self, raw: Mapping, path: str, known: tuple[str, ...]) -> dict[str, Any]:
        """The known keys of ``raw``; every other key is a problem, unless ignored."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.problem(path, "must be a mapping")
            return {}
        taken = {}
        for key, value in raw.items():
            where = f"{path}.{key}" if path else str(key)
            if key in known:
                taken[key] = value
            elif where not in IGNORED:
                self.problem(where, "is not supported by servermon (it would not be checked); "
                                    "remove it or probe this with blackbox_exporter")
        return taken

    def default_only(self, raw: Mapping, path: str, defaults: Mapping[str, object]) -> None:
        """Fields accepted only at blackbox's default value (meaning: nothing to check)."""
        for key, default in defaults.items():
            value = raw.get(key, _MISSING)
            if value is _MISSING or value == default or (value in (None, [], {}, "")
                                                         and default in (None, [], {}, "")):
                continue
            shown = "unset" if default in (None, [], {}, "") else repr(default)
            self.problem(f"{path}.{key}", f"servermon supports only blackbox's default "
                                          f"({shown}), got {value!r}")

    def text(self, value: object, path: str) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(path, f"must be a string, got {value!r}")
            return None
        return str(value)

    def boolean(self, value: object, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, got {value!r}")
            return None
        return value

    def read_file(self, value: object, path: str) -> str | None:
        name = self.text(value, path)
        if name is None:
            return None
        file = Path(name)
        if not file.is_absolute():
            file = self.base_dir / file
        try:
            return file.read_text()
        except (OSError, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.problem(path, f"cannot read {file}: {reason}")
            return None

    def regex(self, value: object, path: str) -> str | None:
        pattern = self.text(value, path)
        if pattern is None:
            return None
        try:
            keyword_regex(pattern)
        except ValueError as exc:
            self.problem(path, str(exc))
            return None
        return pattern

    def one_regex(self, raw: Mapping, key: str, path: str) -> str | None:
        values = raw.get(key)
        if values in (None, []):
            return None
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            self.problem(f"{path}.{key}", "must be a list of regular expressions")
            return None
        if len(values) > 1:
            self.problem(f"{path}.{key}", f"servermon checks one regular expression here, got "
                                          f"{len(values)}; joining them would change what they "
                                          "mean, so split the module or keep one")
            return None
        return self.regex(values[0], f"{path}.{key}[0]")

    def ip_protocol(self, raw: Mapping, path: str) -> None:
        preferred = raw.get("preferred_ip_protocol", "ip6")
        fallback = raw.get("ip_protocol_fallback", True)
        if preferred not in ("ip4", "ip6"):
            self.problem(f"{path}.preferred_ip_protocol", f"must be ip4 or ip6, got {preferred!r}")
            return
        if not isinstance(fallback, bool):
            self.problem(f"{path}.ip_protocol_fallback", f"must be true or false, got {fallback!r}")
            return
        if not fallback:
            self.settings["ip_protocol"] = preferred

    def tls_config(self, raw: object, path: str, *, client_cert: bool = True) -> None:
        known = ("insecure_skip_verify", "cert_file", "key_file", "min_version")
        tls = self.section(raw, path, known if client_cert else known[:1] + known[3:])
        skip = tls.get("insecure_skip_verify", False)
        if self.boolean(skip, f"{path}.insecure_skip_verify") and skip:
            self.settings["tls_verify"] = "false"
        if tls.get("min_version") not in (None, "", "TLS12"):
            self.problem(f"{path}.min_version", "servermon's minimum is TLS 1.2 (TLS12), got "
                                                f"{tls['min_version']!r}")
        if ("cert_file" in tls) != ("key_file" in tls):
            self.problem(path, "cert_file and key_file go together")
            return
        if "cert_file" in tls:
            cert = self.read_file(tls["cert_file"], f"{path}.cert_file")
            key = self.read_file(tls["key_file"], f"{path}.key_file")
            if cert is not None and key is not None:
                self.settings["tls_client_cert"] = cert
                self.settings["tls_client_key"] = key

    def http(self, raw: object) -> None:
        path = "http"
        http = self.section(raw, path, (
            "valid_status_codes", "method", "headers", "body", "body_file", "follow_redirects",
            "no_follow_redirects", "fail_if_body_matches_regexp",
            "fail_if_body_not_matches_regexp", "tls_config", "basic_auth", "bearer_token",
            "bearer_token_file", "authorization", "preferred_ip_protocol",
            "ip_protocol_fallback", "fail_if_ssl", "fail_if_not_ssl", "valid_http_versions",
            "fail_if_header_matches", "fail_if_header_not_matches", "compression",
            "body_size_limit", "proxy_url", "oauth2", "fail_if_matches_regexp",
            "fail_if_not_matches_regexp"))
        self.default_only(http, path, {
            "fail_if_ssl": False, "fail_if_not_ssl": False, "valid_http_versions": [],
            "fail_if_header_matches": [], "fail_if_header_not_matches": [], "compression": "",
            "body_size_limit": 0, "proxy_url": "", "oauth2": {}})
        for old in ("fail_if_matches_regexp", "fail_if_not_matches_regexp"):
            if http.get(old):
                self.problem(f"{path}.{old}", f"is blackbox's old name; write "
                                              f"{old.replace('fail_if_', 'fail_if_body_')}")
        codes = http.get("valid_status_codes")
        if codes not in (None, []):
            if not isinstance(codes, list) or not all(
                    isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599
                    for code in codes):
                self.problem(f"{path}.valid_status_codes", f"must be a list of status codes "
                                                           f"(100-599), got {codes!r}")
            else:
                self.settings["http_accepted_statuses"] = ",".join(str(code) for code in codes)
        else:
            self.settings["http_accepted_statuses"] = "200-299"  # blackbox's default, 2xx
        method = http.get("method")
        if method is not None:
            text = (self.text(method, f"{path}.method") or "").upper()
            if text and text not in HTTP_METHODS:
                self.problem(f"{path}.method", f"servermon sends {', '.join(HTTP_METHODS)}, got "
                                               f"{method!r}")
            elif text:
                self.settings["http_method"] = text
        self._headers(http.get("headers"), f"{path}.headers")
        self._body(http, path)
        follow = True
        if "no_follow_redirects" in http and self.boolean(
                http["no_follow_redirects"], f"{path}.no_follow_redirects") is not None:
            follow = not http["no_follow_redirects"]
        if "follow_redirects" in http and self.boolean(
                http["follow_redirects"], f"{path}.follow_redirects") is not None:
            follow = http["follow_redirects"]
        if not follow:
            self.settings["http_follow_redirects"] = "false"
        absent = self.one_regex(http, "fail_if_body_matches_regexp", path)
        present = self.one_regex(http, "fail_if_body_not_matches_regexp", path)
        if absent is not None and present is not None:
            self.problem(f"{path}.fail_if_body_matches_regexp", "servermon checks one body regex "
                         "per server; this module has fail_if_body_not_matches_regexp as well")
        elif absent is not None or present is not None:
            self.settings.update(http_keyword=absent if absent is not None else present,
                                 http_keyword_regex="true",
                                 http_keyword_mode="absent" if absent is not None else "contains")
        self._auth(http, path)
        self.ip_protocol(http, path)
        if "tls_config" in http:
            self.tls_config(http["tls_config"], f"{path}.tls_config")

    def _headers(self, raw: object, path: str) -> None:
        if raw in (None, {}):
            return
        if not isinstance(raw, Mapping):
            self.problem(path, "must be a mapping of header name to value")
            return
        headers = {}
        for name, value in raw.items():
            text = self.text(value, f"{path}.{name}")
            if text is not None:
                headers[str(name)] = text
        if headers:
            self.settings["http_headers"] = json.dumps(headers, sort_keys=True)

    def _body(self, http: Mapping, path: str) -> None:
        if "body" in http and "body_file" in http:
            self.problem(f"{path}.body_file", "give body or body_file, not both")
            return
        body = None
        if http.get("body") not in (None, ""):
            body = self.text(http["body"], f"{path}.body")
        elif "body_file" in http:
            body = self.read_file(http["body_file"], f"{path}.body_file")
        if body is None:
            return
        if len(body.encode()) > MAX_HTTP_BODY:
            self.problem(f"{path}.body", f"must be at most {MAX_HTTP_BODY // 1024} KiB")
            return
        self.settings["http_body"] = body

    def _auth(self, http: Mapping, path: str) -> None:
        tokens = []
        if "basic_auth" in http:
            auth = self.section(http["basic_auth"], f"{path}.basic_auth",
                                ("username", "password", "password_file"))
            if "username" in auth and (user := self.text(auth["username"],
                                                          f"{path}.basic_auth.username")):
                self.settings["http_basic_auth_username"] = user
            password = None
            if "password" in auth and "password_file" in auth:
                self.problem(f"{path}.basic_auth", "give password or password_file, not both")
            elif "password" in auth:
                password = self.text(auth["password"], f"{path}.basic_auth.password")
            elif "password_file" in auth:
                password = self.read_file(auth["password_file"],
                                          f"{path}.basic_auth.password_file")
                password = password.strip() if password is not None else None
            if password:
                self.settings["http_basic_auth_password"] = password
        if "bearer_token" in http:
            tokens.append(self.text(http["bearer_token"], f"{path}.bearer_token"))
        if "bearer_token_file" in http:
            token = self.read_file(http["bearer_token_file"], f"{path}.bearer_token_file")
            tokens.append(token.strip() if token is not None else None)
        if "authorization" in http:
            auth = self.section(http["authorization"], f"{path}.authorization",
                                ("type", "credentials", "credentials_file"))
            if str(auth.get("type", "Bearer")).lower() != "bearer":
                self.problem(f"{path}.authorization.type", f"servermon sends Bearer credentials "
                                                           f"only, got {auth['type']!r}")
            elif "credentials" in auth:
                tokens.append(self.text(auth["credentials"], f"{path}.authorization.credentials"))
            elif "credentials_file" in auth:
                token = self.read_file(auth["credentials_file"],
                                       f"{path}.authorization.credentials_file")
                tokens.append(token.strip() if token is not None else None)
        if len(tokens) > 1:
            self.problem(path, "give one of bearer_token, bearer_token_file, authorization")
        elif tokens and tokens[0]:
            self.settings["http_bearer_token"] = tokens[0]
        if tokens and ("http_basic_auth_username" in self.settings
                       or "http_basic_auth_password" in self.settings):
            self.problem(path, "give basic_auth or a bearer token, not both")

    def tcp(self, raw: object) -> None:
        path = "tcp"
        tcp = self.section(raw, path, ("preferred_ip_protocol", "ip_protocol_fallback",
                                       "source_ip_address", "query_response", "tls",
                                       "tls_config"))
        self.default_only(tcp, path, {"source_ip_address": ""})
        if "tls" in tcp and self.boolean(tcp["tls"], f"{path}.tls"):
            self.settings["tcp_tls"] = "true"
        steps = self._query_response(tcp.get("query_response"), f"{path}.query_response")
        if steps:
            self.settings["tcp_query_response"] = json.dumps(steps)
        self.ip_protocol(tcp, path)
        if "tls_config" in tcp:
            self.tls_config(tcp["tls_config"], f"{path}.tls_config")

    def _query_response(self, raw: object, path: str) -> list[dict]:
        if raw in (None, []):
            return []
        if not isinstance(raw, list):
            self.problem(path, "must be a list of steps (expect, send, starttls)")
            return []
        steps: list[dict] = []
        for number, item in enumerate(raw):
            where = f"{path}[{number}]"
            step = self.section(item, where, ("expect", "send", "starttls"))
            if not step:
                if isinstance(item, Mapping):
                    self.problem(where, "an empty step")
                continue
            # Kept in blackbox's shape: a step's expect, then its send, then its starttls.
            kept: dict[str, object] = {}
            if "expect" in step and (pattern := self.regex(step["expect"], f"{where}.expect")):
                kept["expect"] = pattern
            if "send" in step and (text := self.text(step["send"], f"{where}.send")) is not None:
                if "expect" in step and "$" in text:
                    self.problem(f"{where}.send", "servermon does not put what expect matched "
                                                  "into send (${1}); this step cannot be probed")
                kept["send"] = text
            if "starttls" in step and self.boolean(step["starttls"], f"{where}.starttls"):
                kept["starttls"] = True
            if kept:
                steps.append(kept)
        return steps

    def icmp(self, raw: object) -> None:
        path = "icmp"
        icmp = self.section(raw, path, ("preferred_ip_protocol", "ip_protocol_fallback",
                                        "source_ip_address", "dont_fragment", "payload_size",
                                        "ttl"))
        self.default_only(icmp, path, {"source_ip_address": "", "dont_fragment": False,
                                       "payload_size": None, "ttl": None})
        self.ip_protocol(icmp, path)

    def dns(self, raw: object) -> str | None:
        path = "dns"
        dns = self.section(raw, path, (
            "preferred_ip_protocol", "ip_protocol_fallback", "source_ip_address",
            "transport_protocol", "dns_over_tls", "tls_config", "query_name", "query_type",
            "query_class", "recursion_desired", "valid_rcodes", "validate_answer_rrs",
            "validate_authority_rrs", "validate_additional_rrs"))
        self.default_only(dns, path, {"source_ip_address": "", "dns_over_tls": False,
                                      "tls_config": {}, "query_class": "IN",
                                      "recursion_desired": True, "validate_authority_rrs": {},
                                      "validate_additional_rrs": {}})
        if dns.get("valid_rcodes") not in (None, [], ["NOERROR"]):
            self.problem(f"{path}.valid_rcodes", "servermon accepts NOERROR only (blackbox's "
                                                 f"default), got {dns['valid_rcodes']!r}")
        name = dns.get("query_name")
        if name in (None, ""):
            self.problem(f"{path}.query_name", "is required")
            name = None
        else:
            name = self.text(name, f"{path}.query_name")
        record_type = str(dns.get("query_type", "ANY")).upper()
        if record_type not in DNS_RECORD_TYPES:
            self.problem(f"{path}.query_type", f"must be one of {', '.join(DNS_RECORD_TYPES)} "
                                               f"(blackbox's default is ANY, which servermon "
                                               f"does not ask), got {dns.get('query_type', 'ANY')!r}")
        else:
            self.settings["dns_record_type"] = record_type
        transport = dns.get("transport_protocol", "udp")
        if transport not in ("udp", "tcp"):
            self.problem(f"{path}.transport_protocol", f"must be udp or tcp, got {transport!r}")
        elif transport == "tcp":
            self.settings["dns_transport"] = "tcp"
        rrs = self.section(dns.get("validate_answer_rrs"), f"{path}.validate_answer_rrs", (
            "fail_if_matches_regexp", "fail_if_none_matches_regexp", "fail_if_all_match_regexp",
            "fail_if_not_matches_regexp"))
        for unsupported in ("fail_if_all_match_regexp", "fail_if_not_matches_regexp"):
            if rrs.get(unsupported):
                self.problem(f"{path}.validate_answer_rrs.{unsupported}",
                             "is not supported; servermon checks that some answer matches "
                             "(fail_if_none_matches_regexp) or that none does "
                             "(fail_if_matches_regexp)")
        where = f"{path}.validate_answer_rrs"
        if (pattern := self.one_regex(rrs, "fail_if_none_matches_regexp", where)) is not None:
            self.settings["dns_answer_regex"] = pattern
        if (pattern := self.one_regex(rrs, "fail_if_matches_regexp", where)) is not None:
            self.settings["dns_answer_absent_regex"] = pattern
        self.ip_protocol(dns, path)
        return name


def _module(name: str, raw: object, base_dir: Path) -> tuple[Module | None, list[str]]:
    reader = _Reader(name, base_dir)
    top = reader.section(raw, "", ("prober", "timeout", *PROBERS, "grpc"))
    prober = top.get("prober")
    if prober not in PROBERS:
        reader.problem("prober", f"servermon probes {', '.join(PROBERS)}, got {prober!r}")
        return None, reader.problems
    for other in (*PROBERS, "grpc"):
        if other != prober and other in top:
            reader.problem(other, f"has no effect with prober {prober}; remove it")
    timeout = None
    if "timeout" in top:
        try:
            timeout = parse_duration(top["timeout"])
            if not 0 < timeout <= 300:
                reader.problem("timeout", f"must be more than 0s and at most 5m, got {top['timeout']!r}")
        except ValueError as exc:
            reader.problem("timeout", str(exc))
    if name in KINDS and (prober != name or set(top) - {"prober"}):
        reader.problem("prober", f"{name!r} is servermon's own {name} probe with its defaults "
                                 "(module=<kind>); a module of that name must be just "
                                 f"'prober: {name}'; rename this one")
    query_name = getattr(reader, prober)(top.get(prober))
    if reader.problems:
        return None, reader.problems
    return Module(name=name, kind=prober, settings=reader.settings, timeout_s=timeout,
                  query_name=query_name if prober == "dns" else None), []


def parse_modules(data: object, base_dir: Path = Path()) -> dict[str, Module]:
    """``{name: Module}`` from a blackbox.yml's parsed YAML; :class:`BlackboxError` lists
    every problem."""
    if not isinstance(data, Mapping) or not isinstance(data.get("modules"), Mapping):
        raise BlackboxError(["the file must have a 'modules:' mapping of module names"])
    problems = [f"{key}: is not a blackbox.yml field (only modules is)"
                for key in data if key != "modules"]
    modules: dict[str, Module] = {}
    for name, raw in data["modules"].items():
        module, found = _module(str(name), raw, base_dir)
        problems += found
        if module is not None:
            modules[module.name] = module
    if problems:
        raise BlackboxError(problems)
    return modules


def parse_text(text: str, base_dir: Path = Path()) -> dict[str, Module]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BlackboxError([f"not valid YAML: {exc}".replace("\n", " ")]) from None
    return parse_modules(data, base_dir)


def load(path: Path) -> dict[str, Module]:
    """The modules of the blackbox.yml at ``path``; BlackboxError (also when unreadable)."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BlackboxError([f"cannot read {path}: {reason}"]) from None
    return parse_text(text, path.resolve().parent)


# The modules servermon knows without a file: those of Debian's /etc/prometheus/blackbox.yml
# (blackbox's own example) that servermon can probe as written. Not here: grpc and
# grpc_plain (no gRPC prober), irc_banner (its send reuses what expect matched),
# icmp_ttl5 (no TTL setting). ``icmp`` is servermon's own kind, which means the same.
DEFAULT_MODULES_YML = """
modules:
  http_2xx:
    prober: http
  http_post_2xx:
    prober: http
    http:
      method: POST
  tcp_connect:
    prober: tcp
  pop3s_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^+OK"
      tls: true
      tls_config:
        insecure_skip_verify: false
  ssh_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH-2.0-"
      - send: "SSH-2.0-blackbox-ssh-check"
  icmp:
    prober: icmp
"""


def default_modules() -> dict[str, Module]:
    return parse_text(DEFAULT_MODULES_YML)
