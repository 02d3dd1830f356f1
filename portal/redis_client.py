"""One Redis connection pool per app, shared by auth, throttling and live updates."""

from __future__ import annotations

import redis
from flask import current_app


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
    """The pub/sub channel ``name`` for this deployment. Pub/sub ignores the database number,
    so two deployments sharing one Redis on different databases (staging and production, or
    two test runs) would hear each other's events; the number goes into the name instead.
    The exporter names its channel the same way (``exporter.discovery.notice_channel``)."""
    client = client if client is not None else get_redis()
    return f"{name}:db{client.get_connection_kwargs().get('db', 0)}"
