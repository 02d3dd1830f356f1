"""Pings in: each stored, the job's state moved, and the state handed to the exporter.

The database is the record (the server page's last runs, and the state the worker
restores into Redis); Redis only carries the news to the exporter, which judges the job
(wire/heartbeat.py). A ping the portal stored but could not write to Redis is not lost:
``sync_redis`` copies it on the worker's next pass, and the exporter waits that long
before believing a silence (exporter/heartbeats.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import Row, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.heartbeats.models import HeartbeatPing, HeartbeatState
from portal.redis_client import channel, get_redis
from portal.servers.models import Server
from portal.servers.ping_keys import key_hash
from wire.heartbeat import HEARTBEATS_HASH, MAX_EXIT_CODE, PINGS_CHANNEL, PingState

log = logging.getLogger(__name__)

KEY_SHAPE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
MAX_BODY = 10 * 1024  # bytes of a ping's body kept, as its log excerpt
KEEP_PINGS = 100  # newest pings kept per server


@dataclass(frozen=True)
class Ping:
    kind: str  # "start", "success" or "fail"
    exit_code: int | None
    source: str | None
    method: str
    user_agent: str | None
    body: bytes


def ping_of(action: str | None, **request: object) -> Ping | None:
    """The ping a URL suffix means: none, ``start``, ``fail``, or an exit code (0 success,
    1-255 failure); None for any other suffix."""
    code = None
    if action is None or action == "":
        kind = "success"
    elif action in ("start", "fail"):
        kind = action
    elif action.isdigit() and len(action) <= 3 and int(action) <= MAX_EXIT_CODE:
        code = int(action)
        kind = "success" if code == 0 else "fail"
    else:
        return None
    return Ping(kind=kind, exit_code=code, **request)  # type: ignore[arg-type]


_STATE = HeartbeatState.__table__
_STATE_FIELDS = tuple(column.name for column in _STATE.c if column.name != "server_id")
_PINGS = HeartbeatPing.__table__
# Built once, with placeholders, not per ping: SQLAlchemy then reuses each one's cache key.
_LOOKUP = (
    select(Server.id, _STATE.c.server_id, *(_STATE.c[name] for name in _STATE_FIELDS))
    .outerjoin(_STATE, _STATE.c.server_id == Server.id)
    .where(Server.ping_key_hash == bindparam("digest"), Server.kind == "heartbeat")
    # the server's row, NO KEY UPDATE: the ping's own insert checks its foreign key with
    # KEY SHARE, which this lets through
    .with_for_update(of=Server, key_share=True))
_INSERT_STATE = insert(_STATE)
_UPDATE_STATE = update(_STATE).where(_STATE.c.server_id == bindparam("job"))
_INSERT_PING = insert(_PINGS)


def _locked_job(key: str) -> tuple[int, HeartbeatState | None] | None:
    """The heartbeat server a key names, its row locked until the commit so that two pings
    of one job move its state one after the other, and that state (None before its first
    ping); None for any other key, however malformed. One statement, the lookup by the
    key's digest and the state with it: each statement is a round trip, after which the
    thread waits its turn for the interpreter lock among the worker's other threads."""
    if not KEY_SHAPE.match(key):
        return None
    row = db.session.execute(_LOOKUP, {"digest": key_hash(key)}).first()
    if row is None:
        return None
    server_id, state_of, *values = row
    if state_of is None:
        return server_id, None
    return server_id, HeartbeatState(server_id=server_id,
                                     **dict(zip(_STATE_FIELDS, values, strict=True)))


def _text(body: bytes) -> str | None:
    if not body:
        return None
    return body[:MAX_BODY].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _move(state: HeartbeatState, ping: Ping, at: datetime) -> float | None:
    """The state after ``ping``; returns the run's duration when it ends one."""
    duration = None
    if ping.kind != "start" and state.started_at is not None:
        duration = max((at - state.started_at).total_seconds(), 0.0)
    state.last_ping_at, state.last_kind = at, ping.kind
    if ping.kind == "start":
        state.started_at = at
        return None
    state.started_at = None
    if duration is not None:
        state.duration_s = duration
    if ping.kind == "success":
        state.last_success_at = at
    else:
        state.last_fail_at = at
    state.exit_code = ping.exit_code
    return duration


def record_ping(key: str, ping: Ping, at: datetime | None = None) -> PingState | None:
    """Store the ping and its job's new state in one commit, then tell the exporter; None
    (nothing stored) when the key names no heartbeat server. Written with plain UPDATE and
    INSERT statements, not the ORM's unit of work: this is the portal's hottest path
    (10,000 jobs a minute is 167 pings/s), and the lookup and the unit of work took 1.5-2.2
    ms of CPU a ping where these statements take 1.0-1.2 (in-process, PostgreSQL)."""
    at = at or utcnow()
    for attempt in range(2):
        found = _locked_job(key)
        if found is None:
            return None
        server_id, state = found
        is_new = state is None
        state = state or HeartbeatState(server_id=server_id)
        duration = _move(state, ping, at)
        values = {name: getattr(state, name) for name in _STATE_FIELDS}
        try:
            if is_new:
                db.session.execute(_INSERT_STATE, {"server_id": server_id, **values})
            else:
                db.session.execute(_UPDATE_STATE, {"job": server_id, **values})
            db.session.execute(_INSERT_PING, {
                "server_id": server_id, "kind": ping.kind, "exit_code": ping.exit_code,
                "at": at, "duration_s": duration, "source": (ping.source or "")[:45] or None,
                "method": ping.method[:8], "user_agent": (ping.user_agent or "")[:200] or None,
                "body": _text(ping.body)})
            db.session.commit()
            break
        except IntegrityError:  # the job's first two pings at once: the other made the row
            db.session.rollback()
            if attempt:
                raise
    told = wire_state(state)
    publish(told)
    return told


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def wire_state(state: HeartbeatState | Row) -> PingState:
    """The state as the exporter reads it, from the model or a row of its table."""
    return PingState(
        server_id=state.server_id, last_ping_at=_timestamp(state.last_ping_at),
        last_kind=state.last_kind, last_success_at=_timestamp(state.last_success_at),
        last_fail_at=_timestamp(state.last_fail_at), exit_code=state.exit_code,
        started_at=_timestamp(state.started_at), duration_s=state.duration_s)


def publish(state: PingState) -> bool:
    """Best effort: the worker's ``sync_redis`` makes good what fails here."""
    text = state.to_json()
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.hset(HEARTBEATS_HASH, str(state.server_id), text)
        pipe.publish(channel(PINGS_CHANNEL), text)
        pipe.execute()
        return True
    except redis.RedisError as exc:
        log.warning("heartbeat %s: stored, not yet told to the exporter (%s)",
                    state.server_id, exc)
        return False


def sync_redis() -> int:
    """Copy into Redis every job state it lacks or holds older than the database's; returns
    how many were copied. Run by the worker on each pass: this is how a ping stored while
    Redis was away, or a Redis that restarted empty, reaches the exporter. The database is
    read first: a ping stored between the two reads is then newer in Redis than in what
    was read, and left alone (read the other way round, every such ping was copied again,
    a hundred a pass at 10,000 jobs)."""
    rows = db.session.execute(
        select(_STATE).join(Server, Server.id == _STATE.c.server_id)
        .where(Server.kind == "heartbeat")).all()
    client = get_redis()
    held = {(key.decode() if isinstance(key, bytes) else key): value
            for key, value in client.hgetall(HEARTBEATS_HASH).items()}
    fresh = {}
    for row in rows:
        state = wire_state(row)
        old = held.pop(str(state.server_id), None)
        if old is None or _older(old, state):
            fresh[str(state.server_id)] = state.to_json()
    pipe = client.pipeline(transaction=False)
    if fresh:
        pipe.hset(HEARTBEATS_HASH, mapping=fresh)
        for text in fresh.values():
            pipe.publish(channel(PINGS_CHANNEL), text)
    if held:  # servers deleted, or no longer heartbeats
        pipe.hdel(HEARTBEATS_HASH, *held)
    pipe.execute()
    return len(fresh)


def _older(text: str | bytes, state: PingState) -> bool:
    try:
        seen = PingState.from_json(text).last_ping_at or 0.0
    except ValueError:
        return True
    return seen < (state.last_ping_at or 0.0) - 1e-6


def prune_pings(keep: int = KEEP_PINGS) -> int:
    """Delete each server's pings beyond its newest ``keep``; returns how many."""
    ranked = select(HeartbeatPing.id, func.row_number().over(
        partition_by=HeartbeatPing.server_id,
        order_by=(HeartbeatPing.at.desc(), HeartbeatPing.id.desc())).label("rank")).subquery()
    old = select(ranked.c.id).where(ranked.c.rank > keep)
    result = db.session.execute(delete(HeartbeatPing).where(HeartbeatPing.id.in_(old)))
    db.session.commit()
    return result.rowcount or 0


def ping_query(server_id: int) -> Select:
    """A job's pings, newest first (the table keeps the newest ``KEEP_PINGS``)."""
    return (select(HeartbeatPing).where(HeartbeatPing.server_id == server_id)
            .order_by(HeartbeatPing.at.desc(), HeartbeatPing.id.desc()))


def last_pings(server_id: int, limit: int = 20) -> list[HeartbeatPing]:
    return list(db.session.scalars(ping_query(server_id).limit(limit)))


def job_state(server_id: int) -> HeartbeatState | None:
    return db.session.get(HeartbeatState, server_id)


