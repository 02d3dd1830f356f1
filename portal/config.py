"""Configuration, read once from the environment into a typed object at start-up.

A missing or malformed value raises ConfigError naming the variable, so the process
stops with one clear line instead of failing later with a traceback. Secrets may also
come from a file (``SECRET_KEY_FILE``), as Docker and Kubernetes secrets do, or, for the
process's own environment, from the secrets folder ``script/server`` generates them into
(``var/secrets/secret_key``), so operator commands run from the checkout find them too.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

from portal.rbac import ROLES
from wire.probe_policy import ProbePolicy
from wire.secrets import MIN_KEY_LENGTH, Keyring


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


DEFAULT_SECRETS_DIR = Path("var/secrets")
DEPLOYMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DEFAULT_TRUSTED_PROXIES = (ip_network("127.0.0.1/32"), ip_network("::1/128"))


class _Env:
    def __init__(self, environ: Mapping[str, str], secrets_dir: Path | None = None) -> None:
        self.environ = environ
        self.secrets_dir = secrets_dir

    def raw(self, name: str) -> str | None:
        file_name = self.environ.get(f"{name}_FILE")
        if file_name:
            try:
                return Path(file_name).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from exc
        value = self.environ.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise ConfigError(f"{name} is required")
            return default
        return value

    def from_secrets_dir(self, name: str) -> str | None:
        """The last resort for a secret, below the variable and ``_FILE``: an operator who
        set either meant it, and script/server only fills the folder when both are unset."""
        if self.secrets_dir is None:
            return None
        path = self.secrets_dir / name.lower()
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
        return value or None

    def secret(self, name: str, *, min_length: int = 16) -> str:
        value = self.raw(name) or self.from_secrets_dir(name)
        if value is None:
            # Where it looked, for an operator who ran a command from another directory.
            hint = "" if self.secrets_dir is None else f" (nor found in {self.secrets_dir})"
            raise ConfigError(f"{name} is required{hint}")
        if len(value) < min_length:
            raise ConfigError(f"{name} must be at least {min_length} characters long")
        return value

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {number}")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {value!r}")

    def url(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.text(name, default, required=required)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
        return value.rstrip("/")


def _database_url(env: _Env) -> str:
    value = env.text("DATABASE_URL", "sqlite:///var/servermon.db")
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            # psycopg2 explicitly: SQLAlchemy 2.1 would otherwise pick psycopg 3.
            value = "postgresql+psycopg2://" + value[len(prefix) :]
    if value.startswith("sqlite:///") and value != "sqlite:///:memory:":
        path = Path(value[len("sqlite:///") :])
        if not path.is_absolute():
            path = Path.cwd() / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if not value.startswith(("postgresql+psycopg2://", "sqlite://")):
        raise ConfigError(f"DATABASE_URL must be a postgresql:// or sqlite:/// URL, got {value!r}")
    return value


def normal_dn(dn: str) -> str:
    """A DN as compared: attribute names and values in lower case, no spaces around the
    separators (``CN=Admins, OU=Groups`` is ``cn=admins,ou=groups``), as AD and OpenLDAP
    match DNs without regard to case."""
    return ",".join(f"{attr.strip().lower()}={value.strip().lower()}"
                    for attr, value, _ in parse_dn(dn.strip(), strip=True))


@dataclass(frozen=True)
class LdapConfig:
    """Directory accounts (portal/auth/directory.py); None in Config when LDAP_URL is unset."""

    url: str
    user_base: str
    role_groups: tuple[tuple[str, str], ...]  # (normalised group DN, role)
    ca_file: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = None
    user_filter: str = "(sAMAccountName={username})"
    group_base: str | None = None
    email_attribute: str = "mail"
    phone_attributes: tuple[str, ...] = ("mobile", "telephoneNumber")
    member_of_attribute: str = "memberOf"
    timeout_s: int = 5
    recheck_minutes: int = 10


@dataclass(frozen=True)
class Config:
    secret_key: str
    database_url: str
    redis_url: str
    portal_url: str
    portal_port: int
    prometheus_url: str
    exporter_url: str
    alertmanager_url: str
    alertmanager_webhook_token: str
    sd_token: str
    deployment: str
    # Seals probe secrets at rest (wire/secrets.py); the exporter is given the same keys.
    probe_secrets_key: str
    grafana_url: str | None = None
    grafana_token: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "servermon@localhost"
    smtp_starttls: bool = False
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    access_token_minutes: int = 15
    refresh_token_hours: int = 12
    cookie_secure: bool = False
    # The pipeline watching itself (portal/pipeline/, docs/design.md#the-pipeline-watches-itself).
    reconcile_grace_s: int = 120
    unalerted_after_s: int = 300
    watchdog_silent_after_s: int = 180
    # How long the outbox keeps retrying a page before it is failed for good.
    outbox_retry_for_s: int = 3600
    # Sends per minute each channel's provider takes (0: no limit): Twilio takes about one
    # SMS a second from a long-code number. Beyond it pages queue, they do not fail.
    sms_per_minute: int = 60
    email_per_minute: int = 0
    # Where probes may go (wire/probe_policy.py); the defaults until from_env builds it.
    probe_policy: ProbePolicy = field(default_factory=ProbePolicy.build)
    # Peers whose X-Forwarded-* headers are believed (portal/web/proxies.py).
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = DEFAULT_TRUSTED_PROXIES
    # Directory (LDAP / Active Directory) accounts; None: local accounts only.
    ldap: LdapConfig | None = None
    repo_root: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent)
    testing: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *,
                 secrets_dir: str | Path | None = None) -> Config:
        """Read ``environ``, or the process environment when it is None.

        The secrets folder is consulted for the process environment (``SERVERMON_SECRETS_DIR``,
        else ``var/secrets`` under the current directory, as the SQLite default is) or when
        ``secrets_dir`` is given; never for a bare mapping, so a test's mapping means exactly
        what it says whatever the checkout holds.
        """
        if environ is None:
            environ = os.environ
            secrets_dir = secrets_dir or environ.get("SERVERMON_SECRETS_DIR") or DEFAULT_SECRETS_DIR
        env = _Env(environ, None if secrets_dir is None else Path(secrets_dir).absolute())
        portal_url = env.url("PORTAL_URL", "http://127.0.0.1:8000")
        smtp_host = env.text("SMTP_HOST")
        twilio_sid = env.text("TWILIO_ACCOUNT_SID")
        database_url = _database_url(env)
        return cls(
            secret_key=env.secret("SECRET_KEY", min_length=32),
            database_url=database_url,
            redis_url=_redis_url(env),
            portal_url=portal_url,
            portal_port=env.integer("PORTAL_PORT", 8000, low=1, high=65535),
            prometheus_url=env.url("PROMETHEUS_URL", "http://127.0.0.1:9090"),
            exporter_url=env.url("EXPORTER_URL", "http://127.0.0.1:9117"),
            alertmanager_url=env.url("ALERTMANAGER_URL", "http://127.0.0.1:9093"),
            alertmanager_webhook_token=env.secret("ALERTMANAGER_WEBHOOK_TOKEN"),
            sd_token=env.secret("SD_TOKEN"),
            deployment=_deployment(env, database_url),
            probe_secrets_key=_probe_secrets_key(env),
            grafana_url=env.url("GRAFANA_URL"),
            grafana_token=env.text("GRAFANA_TOKEN"),
            smtp_host=smtp_host,
            smtp_port=env.integer("SMTP_PORT", 25, low=1, high=65535),
            smtp_user=env.text("SMTP_USER"),
            smtp_password=env.text("SMTP_PASSWORD"),
            smtp_from=env.text("SMTP_FROM", "servermon@localhost"),
            smtp_starttls=env.boolean("SMTP_STARTTLS", False),
            twilio_account_sid=twilio_sid,
            twilio_auth_token=env.text("TWILIO_AUTH_TOKEN", required=twilio_sid is not None),
            twilio_from=env.text("TWILIO_FROM", required=twilio_sid is not None),
            twilio_base_url=env.url("TWILIO_BASE_URL", "https://api.twilio.com"),
            access_token_minutes=env.integer("ACCESS_TOKEN_MINUTES", 15, low=1, high=24 * 60),
            refresh_token_hours=env.integer("REFRESH_TOKEN_HOURS", 12, low=1, high=24 * 30),
            cookie_secure=env.boolean("COOKIE_SECURE", portal_url.startswith("https://")),
            reconcile_grace_s=env.integer("RECONCILE_GRACE_S", 120, low=5, high=3600),
            unalerted_after_s=env.integer("UNALERTED_AFTER_S", 300, low=10, high=6 * 3600),
            watchdog_silent_after_s=env.integer("WATCHDOG_SILENT_AFTER_S", 180, low=10,
                                                high=6 * 3600),
            outbox_retry_for_s=env.integer("OUTBOX_RETRY_FOR_S", 3600, low=60, high=7 * 86400),
            sms_per_minute=env.integer("SMS_PER_MINUTE", 60, low=0, high=60_000),
            email_per_minute=env.integer("EMAIL_PER_MINUTE", 0, low=0, high=60_000),
            probe_policy=_probe_policy(env),
            trusted_proxies=_trusted_proxies(env),
            ldap=_ldap(env),
            testing=env.boolean("SERVERMON_TESTING", False),
        )


def _probe_policy(env: _Env) -> ProbePolicy:
    """The stack's own endpoints, as this process knows them, are never probed."""
    own = [env.url("PROMETHEUS_URL", "http://127.0.0.1:9090"),
           env.url("ALERTMANAGER_URL", "http://127.0.0.1:9093"),
           env.url("EXPORTER_URL", "http://127.0.0.1:9117")]
    redis_url = _redis_url(env)
    if not redis_url.startswith("unix"):
        own.append(redis_url)
    extra = env.text("PROBE_DENY_ENDPOINTS") or ""
    try:
        own += [item for item in extra.split(",") if item.strip()]
        return ProbePolicy.build(env.text("PROBE_DENY_NETWORKS"),
                                 env.text("PROBE_ALLOW_NETWORKS"), own)
    except ValueError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith("PROBE_")
                          else f"PROBE_DENY_ENDPOINTS: {message}") from None


def _probe_secrets_key(env: _Env) -> str:
    """``PROBE_SECRETS_KEY``: one key or several, comma-separated, each at least 32
    characters; the first seals, all unseal (wire/secrets.py), so keys can be rotated."""
    value = env.secret("PROBE_SECRETS_KEY", min_length=MIN_KEY_LENGTH)
    try:
        Keyring.from_text(value)
    except ValueError as exc:
        raise ConfigError(f"PROBE_SECRETS_KEY: {exc}") from None
    return value


def _deployment(env: _Env, database_url: str) -> str:
    """The name this deployment holds its Redis database under (portal/jobs/deployment.py).

    By default the database names it: processes on one system of record are one
    deployment, two databases are two. The password is left out, so rotating it renames
    nothing, and the hash keeps the address out of Redis and the logs.
    """
    value = env.text("DEPLOYMENT_NAME")
    if value is None:
        return "db-" + hashlib.sha256(without_password(database_url).encode()).hexdigest()[:12]
    if not DEPLOYMENT_NAME.match(value):
        raise ConfigError("DEPLOYMENT_NAME must be 1-63 lower-case letters, digits and hyphens, "
                          f"starting with a letter or digit, got {value!r}")
    return value


def without_password(url: str) -> str:
    """``url`` with the password, if any, taken out of its user part."""
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in user:
        return url
    return parts._replace(netloc=f"{user.partition(':')[0]}@{host}").geturl()


def _redis_url(env: _Env) -> str:
    value = env.text("REDIS_URL", "redis://127.0.0.1:6379/0")
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must be a redis:// URL, got {value!r}")
    return value


_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")


def _ldap(env: _Env) -> LdapConfig | None:
    """The directory, validated whole at start: a role map naming an unknown role or a
    malformed group DN stops the start rather than refusing everyone at sign-in."""
    url = env.text("LDAP_URL")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"LDAP_URL must be ldap://host[:port] (StartTLS) or "
                          f"ldaps://host[:port], got {url!r}")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"LDAP_URL has a malformed port: {url!r}") from None
    ca_file = env.text("LDAP_CA_FILE")
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError(f"LDAP_CA_FILE: no such file {ca_file}")
    bind_dn, bind_password = env.text("LDAP_BIND_DN"), env.text("LDAP_BIND_PASSWORD")
    if (bind_dn is None) != (bind_password is None):
        raise ConfigError("LDAP_BIND_DN and LDAP_BIND_PASSWORD go together "
                          "(both unset: the directory is searched anonymously)")
    user_filter = env.text("LDAP_USER_FILTER", "(sAMAccountName={username})")
    if "{username}" not in user_filter or not (user_filter.startswith("(")
                                               and user_filter.endswith(")")):
        raise ConfigError("LDAP_USER_FILTER must be a parenthesised LDAP filter containing "
                          f"{{username}}, got {user_filter!r}")
    attributes = {name: env.text(name, default) for name, default in (
        ("LDAP_EMAIL_ATTRIBUTE", "mail"), ("LDAP_PHONE_ATTRIBUTES", "mobile,telephoneNumber"),
        ("LDAP_MEMBER_OF_ATTRIBUTE", "memberOf"))}
    for name, value in attributes.items():
        if not all(_ATTRIBUTE.match(item.strip()) for item in value.split(",")):
            raise ConfigError(f"{name} must name LDAP attributes (comma-separated for "
                              f"LDAP_PHONE_ATTRIBUTES), got {value!r}")
    return LdapConfig(
        url=url, user_base=_dn(env, "LDAP_USER_BASE", required=True),
        role_groups=_role_groups(env), ca_file=ca_file, bind_dn=bind_dn,
        bind_password=bind_password, user_filter=user_filter,
        group_base=_dn(env, "LDAP_GROUP_BASE"),
        email_attribute=attributes["LDAP_EMAIL_ATTRIBUTE"],
        phone_attributes=tuple(item.strip() for item in
                               attributes["LDAP_PHONE_ATTRIBUTES"].split(",")),
        member_of_attribute=attributes["LDAP_MEMBER_OF_ATTRIBUTE"],
        timeout_s=env.integer("LDAP_TIMEOUT_S", 5, low=1, high=60),
        recheck_minutes=env.integer("LDAP_RECHECK_MINUTES", 10, low=1, high=24 * 60))


def _dn(env: _Env, name: str, *, required: bool = False) -> str | None:
    value = env.text(name, required=required)
    if value is not None:
        try:
            parse_dn(value, strip=True)
        except LDAPInvalidDnError:
            raise ConfigError(f"{name} is not a DN such as OU=Staff,DC=bank,DC=example, "
                              f"got {value!r}") from None
    return value


def _role_groups(env: _Env) -> tuple[tuple[str, str], ...]:
    """``LDAP_ROLE_GROUPS``: ``role=group DN`` pairs separated by ``;`` (a DN holds commas),
    e.g. ``admin=CN=Servermon Admins,OU=Groups,DC=bank,DC=example;it_staff=CN=...``."""
    value = env.text("LDAP_ROLE_GROUPS", required=True)
    pairs = []
    for item in (part.strip() for part in value.split(";")):
        if not item:
            continue
        role, equals, dn = item.partition("=")
        role = role.strip()
        if not equals or role not in ROLES:
            raise ConfigError(f"LDAP_ROLE_GROUPS: {item!r} must be role=group DN, the role one "
                              f"of {', '.join(ROLES)}")
        try:
            pairs.append((normal_dn(dn), role))
        except LDAPInvalidDnError:
            raise ConfigError(f"LDAP_ROLE_GROUPS: {dn.strip()!r} (for {role}) is not a DN "
                              "such as CN=Servermon Admins,OU=Groups,DC=bank,DC=example") from None
    if not pairs:
        raise ConfigError("LDAP_ROLE_GROUPS names no group")
    return tuple(pairs)


def _trusted_proxies(env: _Env) -> tuple[IPv4Network | IPv6Network, ...]:
    """The peers allowed to say who the client is. Unset: this host (nginx beside the
    portal); set but empty: nobody, for a portal that browsers reach directly."""
    if not {"TRUSTED_PROXIES", "TRUSTED_PROXIES_FILE"} & env.environ.keys():
        return DEFAULT_TRUSTED_PROXIES
    value = env.raw("TRUSTED_PROXIES")
    if not value:
        return ()
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            raise ConfigError(f"TRUSTED_PROXIES: an empty entry in {value!r}")
        try:
            networks.append(ip_network(item))
        except ValueError:
            try:
                meant = ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(f"TRUSTED_PROXIES: {item!r} is not an IP network such as "
                                  "172.16.0.0/12, nor an address") from None
            raise ConfigError(f"TRUSTED_PROXIES: {item!r} has host bits set; "
                              f"did you mean {meant}?") from None
    return tuple(networks)
