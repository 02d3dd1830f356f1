"""Ping flood control: a fixed window per ping key and per client address.

A job pings a few times per run; a loop gone wrong, or someone guessing keys, pings
thousands of times a minute. Past the limit a ping is refused with a 429 and not stored.
Unknown keys count against the address too, so guessing is slowed as much as flooding.
Without Redis pings are let through unthrottled: a job's report matters more than the
limit, and each ping is one short insert (a log line says so, at most once a minute).
"""

from __future__ import annotations

import hashlib
import logging
import time

import redis

from portal.redis_client import get_redis

log = logging.getLogger(__name__)

WINDOW_S = 60
PER_KEY = 30  # pings a minute one job may send: start and end every 4 s
PER_ADDRESS = 1200  # a minute from one address: many jobs on one host, or behind one NAT
_PREFIX = "servermon:pingrate"
_warned_at = 0.0


def _bucket(kind: str, value: str, window: int) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"{_PREFIX}:{kind}:{digest}:{window}"


def retry_after(key: str, address: str, now: float | None = None) -> int | None:
    """Seconds until this ping would be taken, or None to take it now (and count it)."""
    global _warned_at
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for kind, value in (("key", key), ("addr", address)):
            bucket = _bucket(kind, value, window)
            pipe.incr(bucket)
            pipe.expire(bucket, WINDOW_S * 2)
        key_count, _, address_count, _ = pipe.execute()
    except redis.RedisError as exc:
        if now - _warned_at > 60:
            _warned_at = now
            log.warning("pings are not throttled while Redis is away: %s", exc)
        return None
    if key_count > PER_KEY or address_count > PER_ADDRESS:
        return max(int((window + 1) * WINDOW_S - now), 1)
    return None
