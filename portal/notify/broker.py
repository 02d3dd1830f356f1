"""The dramatiq broker on Redis, and the actors bound to it.

Actors are made here, when the broker is known, rather than at import time: dramatiq
would otherwise bind them to a default RabbitMQ broker. Both the web process (which
enqueues) and the worker (which runs them) call ``setup_broker`` through create_app.
"""

from __future__ import annotations

from collections.abc import Callable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

# A webhook enqueues while Alertmanager waits: an unreachable Redis must fail fast (the
# sweeper requeues later), not hang for the kernel's connect timeout. RedisBroker(url=...)
# would drop these options, so the client is built here.
CONNECT_TIMEOUT_S = 2
SOCKET_TIMEOUT_S = 10

ACTORS: dict[str, dramatiq.Actor] = {}
_FUNCTIONS: dict[str, tuple[Callable, dict]] = {}


def register(name: str, **options: object) -> Callable[[Callable], Callable]:
    """Declare a function as an actor, made when the broker is set up."""

    def decorator(function: Callable) -> Callable:
        _FUNCTIONS[name] = (function, options)
        return function

    return decorator


def setup_broker(redis_url: str) -> RedisBroker:
    """Make the process's broker and (re)bind every registered actor to it."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                  socket_timeout=SOCKET_TIMEOUT_S, health_check_interval=30)
    broker = RedisBroker(client=client, namespace="servermon-tasks")
    dramatiq.set_broker(broker)
    for name, (function, options) in _FUNCTIONS.items():
        ACTORS[name] = dramatiq.actor(function, actor_name=name, broker=broker, **options)
    return broker


def actor(name: str) -> dramatiq.Actor:
    return ACTORS[name]
