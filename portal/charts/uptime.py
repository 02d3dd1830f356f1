"""24-hour availability per server, copied from Prometheus into Redis by the worker.

Server lists read it from Redis with the latest results, so listing never waits on
Prometheus; if Prometheus is away, the figures simply age out and show as unknown.
"""

from __future__ import annotations

import logging

import redis

from portal.charts.prometheus import query
from portal.errors import APIError
from portal.redis_client import get_redis

log = logging.getLogger(__name__)

UPTIME_KEY = "servermon:uptime24h"
TTL_S = 300
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
