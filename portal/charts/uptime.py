"""24-hour availability per server, copied from Prometheus into Redis by the worker.

Server lists read it from Redis with the latest results, so listing never waits on
Prometheus; if Prometheus is away, the figures simply age out and show as unknown.

Availability is the share of probes that succeeded, so it covers only the time the server
was monitored: Prometheus has no samples from before its first probe. When that time is
shorter than the window, the figure says so ("83.3 % over 4 min"): a server four minutes
old with 40 s down has not been 83 % available over a day.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis
from sqlalchemy import func, select

from portal.charts.prometheus import query
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.redis_client import get_redis
from portal.servers.models import Server, ServerEvent

log = logging.getLogger(__name__)

UPTIME_KEY = "servermon:uptime24h"
TTL_S = 300
DAY_S = 86400
RECORDED = "server:probe_success:avg_over_time_24h"
# Availability at or above GOOD shows green, at or above WARN amber, below it red. Tiles are
# graded here on the server; charts.js grades live updates with the same figures, which
# base.html hands it (data-uptime-bands).
GOOD_PCT = 99.9
WARN_PCT = 99.0
BANDS = f"{GOOD_PCT} {WARN_PCT}"


def uptime_grade(pct: float) -> str:
    return "good" if pct >= GOOD_PCT else ("warn" if pct >= WARN_PCT else "bad")


def refresh_uptime() -> int:
    """Copy the recording rule's values into Redis; returns how many servers it covered."""
    try:
        result = query(RECORDED)["result"]
    except APIError as exc:
        log.warning("uptime not refreshed: %s", exc.message)
        return 0
    values = {item["metric"]["server_id"]: round(float(item["value"][1]) * 100, 3)
              for item in result if "server_id" in item["metric"]}
    if values:
        pipe = get_redis().pipeline()
        pipe.delete(UPTIME_KEY)
        pipe.hset(UPTIME_KEY, mapping=values)
        pipe.expire(UPTIME_KEY, TTL_S)
        pipe.execute()
    return len(values)


def uptimes(server_ids: list[int]) -> dict[int, float]:
    if not server_ids:
        return {}
    try:
        raw = get_redis().hmget(UPTIME_KEY, [str(i) for i in server_ids])
    except redis.RedisError:
        return {}
    return {server_id: float(value) for server_id, value in zip(server_ids, raw, strict=True)
            if value is not None}


def monitored_since(server_ids: list[int]) -> dict[int, datetime]:
    """When each server's monitoring began: its first probe result (the first entry in its
    log of state changes), or its creation while none has arrived."""
    if not server_ids:
        return {}
    first = (select(ServerEvent.server_id, func.min(ServerEvent.at).label("at"))
             .where(ServerEvent.server_id.in_(server_ids)).group_by(ServerEvent.server_id)
             .subquery())
    rows = db.session.execute(select(Server.id, Server.created_at, first.c.at)
                              .outerjoin(first, first.c.server_id == Server.id)
                              .where(Server.id.in_(server_ids)))
    return {row.id: row.at or row.created_at for row in rows}


def monitored_s(since: datetime | None, window_s: float, now: datetime | None = None) -> float:
    """Seconds of ``window_s`` (ending now) during which the server was monitored."""
    if since is None:
        return window_s
    elapsed = ((now or utcnow()) - since).total_seconds()
    return max(0.0, min(window_s, elapsed))


def span_text(seconds: float) -> str:
    """A monitored span for a label: "40 s", "4 min", "3 h 20 min", "2 d 5 h"."""
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400} d" + (f" {s % 86400 // 3600} h" if s % 86400 >= 3600 else "")
    if s >= 3600:
        return f"{s // 3600} h" + (f" {s % 3600 // 60} min" if s % 3600 >= 60 else "")
    if s >= 60:
        return f"{s // 60} min"
    return f"{s} s"


def over(since: datetime | None, window_s: float, now: datetime | None = None) -> dict:
    """What a figure over ``window_s`` covers: ``over_s`` and ``over`` (its text) when the
    server was monitored for less than the window, both None when for all of it."""
    span = monitored_s(since, window_s, now)
    # A minute's slack: the first probe lands a moment after the window's start.
    if span >= window_s - 60:
        return {"over_s": None, "over": None}
    return {"over_s": round(span), "over": span_text(span)}


def uptime_figures(server_ids: list[int]) -> dict[int, dict]:
    """The 24 h availability of each server with what it covers, for tiles and lists:
    ``{id: {"pct": 83.333, "over_s": 240, "over": "4 min"}}`` (``over_s``/``over`` None
    when the server was monitored all day). Servers without a figure are left out."""
    pcts = uptimes(server_ids)
    since = monitored_since(list(pcts))
    now = utcnow()
    return {server_id: {"pct": pct, **over(since.get(server_id), DAY_S, now)}
            for server_id, pct in pcts.items()}


def uptime_label(pct: float | None, over_s: float | None = None) -> str:
    """A 24 h figure in words for a gauge's label: "Uptime over 24 hours: 99.95 %", or
    "Uptime over 4 min (monitored so far): 83.3 %"."""
    if pct is None:
        return "Uptime over 24 hours: no data yet"
    scope = "24 hours" if over_s is None else f"{span_text(over_s)} (monitored so far)"
    return f"Uptime over {scope}: {format_pct(pct)}"


def format_pct(pct: float) -> str:
    """A percentage for people: "100 %", "99.95 %", "83.33 %" (three decimals near 100,
    where they matter, two below; no trailing zeros)."""
    if pct >= 99.9995:
        return "100 %"
    return f"{pct:.{3 if pct >= 99 else 2}f}".rstrip("0").rstrip(".") + " %"
