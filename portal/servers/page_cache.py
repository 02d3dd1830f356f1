"""A short-lived cache of server-list pages, per portal process.

Listing is the hot path (every dashboard, every API client), yet what it reads from the
database changes only when a server, a state change, an incident or a maintenance window
does. Those writers bump a generation number in Redis; a page is reused while the
generation is unchanged and for at most a few seconds (so windows that open on their own
schedule show promptly). The exporter's latest results are laid over it fresh each time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import redis
from flask import current_app, request

from portal.redis_client import get_redis

log = logging.getLogger(__name__)

GENERATION_KEY = "servermon:registry:generation"
# Bumped only when what service discovery lists changes (a server added, edited, removed):
# its answer, 14 MB and 1.5 s of CPU at 10,000 servers, is reused until then.
TARGETS_GENERATION_KEY = "servermon:targets:generation"
TTL_S = 5.0
MAX_ENTRIES = 256

_entries: OrderedDict[tuple, tuple[float, str, Any]] = OrderedDict()
_refreshing: set[tuple] = set()  # keys whose successor is being computed in the background
_lock = threading.Lock()


def bump(*keys: str) -> None:
    """Say the registry changed (``keys``: which generations; the registry's when none);
    best effort (entries expire on their own anyway)."""
    with contextlib.suppress(redis.RedisError):
        pipe = get_redis().pipeline(transaction=False)
        for key in keys or (GENERATION_KEY,):
            pipe.set(key, uuid.uuid4().hex)
        pipe.execute()


def _generation(key: str = GENERATION_KEY) -> str | None:
    """A random token, new at every change (and after Redis lost it), never reused."""
    try:
        redis_client = get_redis()
        current = redis_client.get(key)
        if current is None:
            redis_client.set(key, uuid.uuid4().hex, nx=True)
            current = redis_client.get(key)
        return current
    except redis.RedisError:
        return None


def cached(key: tuple, compute: Callable[[], Any], ttl_s: float = TTL_S,
           background: Callable[[Callable[[], None]], None] | None = None,
           generation_key: str = GENERATION_KEY,
           mark: Callable[[], Hashable] | None = None) -> Any:
    """The value for ``key``, computed again when the registry changed (the generation at
    ``generation_key``) or it is older than ``ttl_s``. With ``background`` (a function that
    runs a job elsewhere), an entry that is merely old is served once more while the job
    computes its successor, so no request waits for it; a registry change is always
    computed in the request. With ``mark`` (a cheap reading of what the value is made
    from), an entry past ``ttl_s`` whose mark has not moved is kept, not computed again."""
    generation = _generation(generation_key)
    if generation is None:  # cannot tell whether it changed: do not reuse
        return compute()
    refresh = False
    with _lock:
        entry = _entries.get(key)
        if entry and entry[1] == generation:
            _entries.move_to_end(key)
            if entry[0] > time.monotonic() or key in _refreshing:
                return entry[2]
            if background is not None:
                _refreshing.add(key)
                refresh = True
        else:
            entry = None
    if refresh:
        try:
            background(lambda: _refresh(key, generation, compute, ttl_s, mark, entry))
            return entry[2]
        except Exception:  # could not hand it off (no thread left): compute it here
            with _lock:
                _refreshing.discard(key)
    return _renew(key, generation, compute, ttl_s, mark, entry)


def _renew(key: tuple, generation: str, compute: Callable[[], Any], ttl_s: float,
           mark: Callable[[], Hashable] | None, entry: tuple | None) -> Any:
    """The entry's value again if its mark has not moved, else a new one; stored."""
    seen = mark() if mark is not None else None
    unchanged = entry is not None and seen is not None and entry[3] == seen
    value = entry[2] if unchanged else compute()
    with _lock:
        _entries[key] = (time.monotonic() + ttl_s, generation, value, seen)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def _refresh(key: tuple, generation: str, compute: Callable[[], Any], ttl_s: float,
             mark: Callable[[], Hashable] | None, entry: tuple) -> None:
    try:
        _renew(key, generation, compute, ttl_s, mark, entry)
    finally:
        with _lock:
            _refreshing.discard(key)


def in_background(job: Callable[[], None]) -> None:
    """Run a refresh on a thread of its own (``cached``'s ``background``), in a request
    context like this one (same path and script root, so the links it renders are the
    same); its app context gives it a database session of its own, closed when it ends."""
    app = current_app._get_current_object()
    path, overrides = request.full_path, {"SCRIPT_NAME": request.script_root}

    def run() -> None:
        with app.test_request_context(path, environ_overrides=overrides):
            try:
                job()
            except Exception:
                log.exception("page refresh failed; the next request computes it")

    threading.Thread(target=run, name="servermon-page-refresh", daemon=True).start()
