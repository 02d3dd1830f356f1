"""Dependency checks shared by /healthz and the Admin page."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.grafana import health as grafana_health
from portal.pipeline.heartbeats import health as heartbeat_health
from portal.redis_client import get_redis
from portal.settings.service import load_settings

HTTP_TIMEOUT_S = 1.5


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}"[:200], False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def check_database() -> dict:
    def run() -> str:
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            raise
        return db.engine.dialect.name

    return _timed(run)


def check_redis() -> dict:
    def run() -> str:
        get_redis().ping()
        return "pong"

    return _timed(run)


def _http_check(url: str, path: str) -> dict:
    def run() -> str:
        response = requests.get(url + path, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        return f"HTTP {response.status_code}"

    return _timed(run)


def check_components() -> dict[str, dict]:
    """Every dependency the portal talks to; the HTTP ones in parallel so one slow peer costs 1.5 s."""
    cfg = current_app.config["SERVERMON"]
    remote = {
        "prometheus": (cfg.prometheus_url, "/-/healthy"),
        "alertmanager": (cfg.alertmanager_url, "/-/healthy"),
        "exporter": (cfg.exporter_url, "/healthz"),
    }
    app = current_app._get_current_object()

    def grafana() -> dict:
        with app.app_context():
            return _timed(grafana_health)

    with ThreadPoolExecutor(max_workers=len(remote) + 1) as pool:
        futures = {name: pool.submit(_http_check, *where) for name, where in remote.items()}
        if cfg.grafana_url:
            futures["grafana"] = pool.submit(grafana)
        results = {"database": check_database(), "redis": check_redis()}
        results.update({name: future.result() for name, future in futures.items()})
    return results


def check_pipeline() -> dict[str, dict]:
    """The worker, the Watchdog and the reconciler, from their heartbeats (no network);
    when each was last seen in the configured time zone, as every time on the pages."""
    checks = {}
    zone = ZoneInfo(load_settings().timezone)
    now = utcnow()
    for row in heartbeat_health():
        if row["seen_at"] is None:
            detail = "never seen"
        else:
            seen = datetime.fromisoformat(row["seen_at"])
            age = max(int((now - seen).total_seconds()), 0)
            detail = (f"{row['detail'] or 'alive'} · last seen "
                      f"{seen.astimezone(zone):%Y-%m-%d %H:%M:%S %Z} ({age} s ago)")
        checks[row["name"]] = {"ok": row["healthy"], "detail": detail, "ms": None}
    return checks
