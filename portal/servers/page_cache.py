"""A short-lived cache of server-list pages, per portal process.

Listing is the hot path (every dashboard, every API client), yet what it reads from the
database changes only when a server, a state change, an incident or a maintenance window
does. Those writers bump a generation number in Redis; a page is reused while the
generation is unchanged and for at most a few seconds (so windows that open on their own
schedule show promptly). The exporter's latest results are laid over it fresh each time.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis

from portal.redis_client import get_redis

GENERATION_KEY = "servermon:registry:generation"
TTL_S = 5.0
MAX_ENTRIES = 256

_entries: OrderedDict[tuple, tuple[float, str, Any]] = OrderedDict()
_lock = threading.Lock()


def bump() -> None:
    """Say the registry changed; best effort (entries expire on their own anyway)."""
    with contextlib.suppress(redis.RedisError):
        get_redis().set(GENERATION_KEY, uuid.uuid4().hex)


def _generation() -> str | None:
    """A random token, new at every change (and after Redis lost it), never reused."""
    try:
        redis_client = get_redis()
        current = redis_client.get(GENERATION_KEY)
        if current is None:
            redis_client.set(GENERATION_KEY, uuid.uuid4().hex, nx=True)
            current = redis_client.get(GENERATION_KEY)
        return current
    except redis.RedisError:
        return None


def cached(key: tuple, compute: Callable[[], Any], ttl_s: float = TTL_S) -> Any:
    generation = _generation()
    if generation is None:  # cannot tell whether it changed: do not reuse
        return compute()
    now = time.monotonic()
    with _lock:
        entry = _entries.get(key)
        if entry and entry[0] > now and entry[1] == generation:
            _entries.move_to_end(key)
            return entry[2]
    value = compute()
    with _lock:
        _entries[key] = (now + ttl_s, generation, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value
