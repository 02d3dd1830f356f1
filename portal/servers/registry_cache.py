"""Answers built from every enabled server, kept until the registry changes.

Service discovery (``/api/sd/*``) and the ``servermon_server_registered`` gauge of the
portal's ``/metrics`` each list every server. At 10,000 servers a build is a second of one
worker's CPU for discovery and a quarter of one for the gauge, and every request that
worker was serving meanwhile (heartbeat pings, at 167 a second) waited it out:
bench/heartbeats.py's steady p99 was 379 ms with a discovery build every 300 s in each
worker, 88 ms without; Prometheus scrapes ``/metrics`` every 15 s.

What they list changes only through servers.service.announce_change, which bumps the
targets generation. The lifetime bounds a notice that was lost (Redis failed the bump) or
an edit made behind the portal's back: an answer past it is served once more while a
thread checks, with one query, whether any server changed since (the newest updated_at,
the count, the highest id), and builds it again only then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from portal.extensions import db
from portal.servers import page_cache
from portal.servers.models import Server

LIFETIME_S = 300.0


def registry_mark() -> tuple:
    """Moves whenever a server is added, removed or edited (an edit sets updated_at)."""
    return tuple(db.session.execute(
        select(func.count(Server.id), func.max(Server.id), func.max(Server.updated_at))).one())


def cached(key: tuple, build: Callable[[], Any]) -> Any:
    """``build()``'s value for ``key``, built again in this process only when the registry
    changed; called in a request (a stale answer is checked on a thread in its context)."""
    return page_cache.cached(key, build, ttl_s=LIFETIME_S, background=page_cache.in_background,
                             generation_key=page_cache.TARGETS_GENERATION_KEY,
                             mark=registry_mark)
