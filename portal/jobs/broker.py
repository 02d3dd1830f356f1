"""The dramatiq broker on Redis, which every background job travels through.

Actors are declared when the broker is made (``portal.jobs.actors.setup_jobs``, called by
create_app in the web process, which enqueues, and in the worker, which runs them) rather
than at import time: dramatiq would otherwise bind them to a default RabbitMQ broker.
Service code enqueues by name with ``send``, so it never imports the worker's wiring.
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
NAMESPACE = "servermon-tasks"

_actors: dict[str, dramatiq.Actor] = {}


def make_broker(redis_url: str) -> RedisBroker:
    """A broker on ``redis_url``, made the process's own; actors are declared on it next."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                  socket_timeout=SOCKET_TIMEOUT_S, health_check_interval=30)
    broker = RedisBroker(client=client, namespace=NAMESPACE)
    dramatiq.set_broker(broker)
    _actors.clear()
    return broker


def declare(broker: RedisBroker, name: str, function: Callable, options: dict) -> None:
    _actors[name] = dramatiq.actor(function, actor_name=name, broker=broker, **options)


def send(name: str, *args: object, delay_ms: int | None = None) -> None:
    """Queue job ``name``; raises when Redis cannot take it (the caller decides what then)."""
    _actors[name].send_with_options(args=args, delay=delay_ms)
