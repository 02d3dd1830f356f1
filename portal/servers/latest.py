"""The exporter's latest result per server, kept in a Redis hash it overwrites every probe.

Reading it here keeps the database free of a write per probe while lists and tiles still
show the last check to the second.
"""

from __future__ import annotations

import json
import logging

import redis

from portal.redis_client import get_redis
from wire import LATEST_HASH

log = logging.getLogger(__name__)


def latest_results(server_ids: list[int]) -> dict[int, dict]:
    if not server_ids:
        return {}
    try:
        raw = get_redis().hmget(LATEST_HASH, [str(server_id) for server_id in server_ids])
    except redis.RedisError as exc:
        log.warning("latest results unavailable, showing stored status: %s", exc)
        return {}
    results = {}
    for server_id, value in zip(server_ids, raw, strict=True):
        if value:
            try:
                results[server_id] = json.loads(value)
            except ValueError:
                log.warning("unreadable latest result for server %s", server_id)
    return results
