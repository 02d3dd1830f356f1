"""The exporter's configuration, read once from the environment at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _raw(env: Mapping[str, str], name: str) -> str | None:
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from exc
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExporterConfig:
        env = os.environ if environ is None else environ
        portal_url = (_raw(env, "PORTAL_URL") or "http://127.0.0.1:8000").rstrip("/")
        if urlsplit(portal_url).scheme not in ("http", "https"):
            raise ConfigError(f"PORTAL_URL must be an http(s) URL, got {portal_url!r}")
        token = _raw(env, "SD_TOKEN")
        if token is None:
            raise ConfigError("SD_TOKEN is required")
        if len(token) < 16:
            raise ConfigError("SD_TOKEN must be at least 16 characters long")
        redis_url = _raw(env, "REDIS_URL") or "redis://127.0.0.1:6379/0"
        if urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"REDIS_URL must be a redis:// URL, got {redis_url!r}")
        shards = _int(env, "EXPORTER_SHARDS", 1, 1, 1000)
        return cls(
            portal_url=portal_url,
            sd_token=token,
            redis_url=redis_url,
            port=_int(env, "EXPORTER_PORT", 9117, 1, 65535),
            listen=_raw(env, "EXPORTER_LISTEN") or "0.0.0.0",  # noqa: S104 - Prometheus scrapes it
            sd_refresh_s=_int(env, "SD_REFRESH_S", 30, 1, 3600),
            concurrency=_int(env, "EXPORTER_CONCURRENCY", 1000, 1, 100000),
            shard=_int(env, "EXPORTER_SHARD", 0, 0, shards - 1),
            shards=shards,
        )
