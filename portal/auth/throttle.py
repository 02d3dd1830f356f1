"""Login throttling: after repeated failures, per username and per client address.

Counts are kept for any username typed, existing or not, so a 429 never tells an
attacker which accounts exist. Without Redis a sign-in can be neither checked nor counted,
so it is refused with a 503 that says so (as every session check is, auth/sessions.py),
never let through unthrottled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from portal.errors import APIError
from portal.redis_client import get_redis

WINDOW_S = 15 * 60
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20


@contextmanager
def _counters() -> Iterator[redis.Redis]:
    try:
        yield get_redis()
    except redis.RedisError as exc:
        raise APIError(503, "sign-in is unavailable: the session store (Redis) does not answer; "
                            "try again shortly") from exc


def _keys(username: str, address: str) -> tuple[str, str]:
    user_digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login:fail:user:{user_digest}", f"login:fail:addr:{address}"


def check(username: str, address: str) -> None:
    """Refuse with 429 while either counter is over its limit."""
    user_key, addr_key = _keys(username, address)
    with _counters() as client:
        pipe = client.pipeline()
        pipe.get(user_key)
        pipe.get(addr_key)
        pipe.ttl(user_key)
        pipe.ttl(addr_key)
        user_count, addr_count, user_ttl, addr_ttl = pipe.execute()
    blocked = []
    if int(user_count or 0) >= MAX_FAILURES_PER_USER:
        blocked.append(user_ttl)
    if int(addr_count or 0) >= MAX_FAILURES_PER_ADDRESS:
        blocked.append(addr_ttl)
    if blocked:
        retry_after = max(max(blocked), 1)
        raise APIError(
            429,
            "too many failed sign-in attempts; try again later",
            {"retry_after_s": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


def record_failure(username: str, address: str) -> None:
    user_key, addr_key = _keys(username, address)
    with _counters() as client:
        pipe = client.pipeline()
        for key in (user_key, addr_key):
            pipe.incr(key)
            pipe.expire(key, WINDOW_S, nx=True)
        pipe.execute()


def record_success(username: str, address: str) -> None:
    user_key, _ = _keys(username, address)
    with _counters() as client:
        client.delete(user_key)
