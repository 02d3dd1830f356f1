"""One Redis connection pool per app, shared by auth, throttling and live updates."""

from __future__ import annotations

import redis
from flask import current_app

import wire


def init_redis(app) -> None:
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["SERVERMON"].redis_url,
        decode_responses=True,
        socket_timeout=2,
        socket_connect_timeout=2,
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def channel(name: str, client: redis.Redis | None = None) -> str:
    """The pub/sub channel ``name`` of this deployment, named as the exporter names its
    own (``wire.channel``: the database number is part of the name)."""
    return wire.channel(name, client if client is not None else get_redis())
