"""The dramatiq broker on Redis, and the actors bound to it.

Actors are made here, when the broker is known, rather than at import time: dramatiq
would otherwise bind them to a default RabbitMQ broker. Both the web process (which
enqueues) and the worker (which runs them) call ``setup_broker`` through create_app.
"""

from __future__ import annotations

from collections.abc import Callable

import dramatiq
from dramatiq.brokers.redis import RedisBroker

ACTORS: dict[str, dramatiq.Actor] = {}
_FUNCTIONS: dict[str, tuple[Callable, dict]] = {}


def register(name: str, **options: object) -> Callable[[Callable], Callable]:
    """Declare a function as an actor, made when the broker is set up."""

    def decorator(function: Callable) -> Callable:
        _FUNCTIONS[name] = (function, options)
        return function

    return decorator


def setup_broker(redis_url: str) -> RedisBroker:
    broker = RedisBroker(url=redis_url, namespace="servermon-tasks")
    dramatiq.set_broker(broker)
    for name, (function, options) in _FUNCTIONS.items():
        ACTORS[name] = dramatiq.actor(function, actor_name=name, broker=broker, **options)
    return broker


def actor(name: str) -> dramatiq.Actor:
    return ACTORS[name]
