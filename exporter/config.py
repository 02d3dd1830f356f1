"""The exporter's configuration, read once from the environment at start-up.

Every setting is checked here, before anything runs; a bad one raises ConfigError whose
message names the variable, and ``python -m exporter`` prints it as one line and exits.
Secrets may come from a file: ``SD_TOKEN_FILE=/run/secrets/sd_token``.

Sharding: with ``EXPORTER_SHARDS=N`` and ``EXPORTER_SHARD=k`` (0 <= k < N) this process
probes only the servers whose ``server_id % N == k``. Run N exporters with k = 0..N-1
against the same portal and each server is probed by exactly one of them; Prometheus
scrapes all N. The default (one shard) probes everything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from exporter.modules import Modules, load_modules
from wire.blackbox import BlackboxError
from wire.probe_policy import ProbePolicy
from wire.secrets import Keyring

DEFAULT_PORTAL_URL = "http://127.0.0.1:8000"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _raw(env: Mapping[str, str], name: str) -> str | None:
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip() or None
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from None
    value = env.get(name, "").strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _raw(env, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = _raw(env, name) or default
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ConfigError(f"{name} must be a {'/'.join(schemes)} URL, got {value!r}")
    return value


@dataclass(frozen=True)
class ExporterConfig:
    portal_url: str
    sd_token: str
    redis_url: str
    port: int
    listen: str
    sd_refresh_s: int
    concurrency: int
    shard: int
    shards: int
    probe_policy: ProbePolicy = field(default_factory=ProbePolicy.build)
    # Opens the probe secrets the portal sealed (wire/secrets.py); None: PROBE_SECRETS_KEY
    # unset, and a target carrying a sealed value is skipped, never probed with it.
    probe_secrets: Keyring | None = None
    # /probe?module=<name>: BLACKBOX_CONFIG's modules (blackbox.yml), else the defaults.
    modules: Modules = field(default_factory=Modules)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExporterConfig:
        env = os.environ if environ is None else environ
        portal_url = _url(env, "PORTAL_URL", DEFAULT_PORTAL_URL, ("http", "https")).rstrip("/")
        token = _raw(env, "SD_TOKEN")
        if token is None:
            raise ConfigError("SD_TOKEN is required (the portal's service discovery token)")
        if len(token) < 16:
            raise ConfigError("SD_TOKEN must be at least 16 characters long")
        shards = _int(env, "EXPORTER_SHARDS", 1, 1, 1000)
        shard = _int(env, "EXPORTER_SHARD", 0, 0, 1000)
        if shard >= shards:
            raise ConfigError(f"EXPORTER_SHARD must be below EXPORTER_SHARDS ({shards}), "
                              f"got {shard}")
        redis_url = _url(env, "REDIS_URL", DEFAULT_REDIS_URL, ("redis", "rediss", "unix"))
        port = _int(env, "EXPORTER_PORT", 9117, 1, 65535)
        listen = _raw(env, "EXPORTER_LISTEN") or "0.0.0.0"  # noqa: S104 - Prometheus scrapes it
        return cls(
            portal_url=portal_url,
            sd_token=token,
            redis_url=redis_url,
            port=port,
            listen=listen,
            sd_refresh_s=_int(env, "SD_REFRESH_S", 30, 1, 3600),
            concurrency=_int(env, "EXPORTER_CONCURRENCY", 1000, 1, 100_000),
            shard=shard,
            shards=shards,
            probe_policy=_probe_policy(env, redis_url, listen, port),
            probe_secrets=_probe_secrets(env),
            modules=_modules(env),
        )


def _modules(env: Mapping[str, str]) -> Modules:
    """BLACKBOX_CONFIG names a blackbox.yml; every module in it must be one servermon can
    probe as written, or nothing starts (each problem names the module and field)."""
    path = env.get("BLACKBOX_CONFIG", "").strip() or None
    try:
        return load_modules(path)
    except BlackboxError as exc:
        raise ConfigError(f"BLACKBOX_CONFIG: {'; '.join(exc.problems)}") from None


def _probe_secrets(env: Mapping[str, str]) -> Keyring | None:
    """``PROBE_SECRETS_KEY`` (or ``_FILE``), the portal's: optional here, for an exporter
    whose servers have no secret settings."""
    value = _raw(env, "PROBE_SECRETS_KEY")
    if value is None:
        return None
    try:
        return Keyring.from_text(value)
    except ValueError as exc:
        raise ConfigError(f"PROBE_SECRETS_KEY: {exc}") from None


def _probe_policy(env: Mapping[str, str], redis_url: str, listen: str, port: int) -> ProbePolicy:
    """The stack's own endpoints are those this process is told of: its own, Redis's, and
    Prometheus's and Alertmanager's where their URLs are set (script/server and compose
    set them), besides PROBE_DENY_ENDPOINTS."""
    own = [f"[{listen}]:{port}" if ":" in listen else f"{listen}:{port}"]
    if not redis_url.startswith("unix"):
        own.append(redis_url)
    own += [url for name in ("PROMETHEUS_URL", "ALERTMANAGER_URL") if (url := _raw(env, name))]
    own += [item for item in (_raw(env, "PROBE_DENY_ENDPOINTS") or "").split(",") if item.strip()]
    try:
        return ProbePolicy.build(_raw(env, "PROBE_DENY_NETWORKS"),
                                 _raw(env, "PROBE_ALLOW_NETWORKS"), own)
    except ValueError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith("PROBE_")
                          else f"PROBE_DENY_ENDPOINTS: {message}") from None
