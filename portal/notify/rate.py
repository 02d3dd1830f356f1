"""What costs money is throttled, not failed: each channel sends at most its provider's
rate (``SMS_PER_MINUTE``, ``EMAIL_PER_MINUTE``), shared by every worker through Redis.

A generic cell rate algorithm in one Lua script: the key holds the theoretical arrival
time of the next send; a send that comes too early is told how long to wait, and its
rows wait in the outbox (pending, due then) instead of failing. A Redis that does not
answer lets the send through: the provider's own limit, answered with a 429, is then
honoured by the outbox's retries.
"""

from __future__ import annotations

import logging

import redis
from flask import current_app

from portal.redis_client import get_redis

log = logging.getLogger(__name__)

KEY = "servermon:rate:{channel}"
# Allow now and set the next arrival, or return how many ms to wait; a burst of up to
# ARGV[2] sends may go at once after a quiet spell.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - interval * (burst - 1)
if now < allow_at then return allow_at - now end
redis.call('SET', KEYS[1], tat + interval, 'PX', interval * (burst + 1))
return 0
"""
BURST = 1


def per_minute(channel: str) -> int:
    return getattr(current_app.config["SERVERMON"], f"{channel}_per_minute", 0)


def wait_s(channel: str) -> float:
    """0 to send now (the slot is taken), else the seconds until one is free."""
    rate = per_minute(channel)
    if rate <= 0:
        return 0.0
    interval_ms = max(int(60_000 / rate), 1)
    try:
        waited = get_redis().register_script(_GCRA)(keys=[KEY.format(channel=channel)],
                                                    args=[interval_ms, BURST])
    except redis.RedisError as exc:
        log.warning("send rate for %s not checked (%s); sending", channel, exc)
        return 0.0
    return int(waited) / 1000
