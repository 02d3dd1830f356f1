"""State changes from the exporter into the database, each stored exactly once.

The exporter appends every change to a Redis stream; portal worker processes read it as
one consumer group, so each message goes to one of them. A message is acknowledged only
after its row is committed; one that fails stays pending and is read again, and the
exporter's ``event_id`` (unique in the table) makes the redelivery a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import redis
from flask import Flask
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from portal.extensions import db
from portal.servers import page_cache
from portal.servers.live import publish_changes
from portal.servers.models import Server, ServerEvent, ServerStatus
from wire import EVENTS_GROUP, EVENTS_STREAM, STATES

log = logging.getLogger(__name__)

DEAD_LETTER = f"{EVENTS_STREAM}:dead"  # the portal's own: entries it could not read


@dataclass(frozen=True)
class StateChange:
    event_id: str
    server_id: int
    status: str
    previous: str
    reason: str | None
    latency_ms: float | None
    at: datetime
    last_ok_at: datetime | None

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> StateChange:
        """Parse a stream entry; ValueError says what is wrong with it."""
        status = fields.get("status", "")
        if status not in STATES:
            raise ValueError(f"status {status!r} is not up or down")
        event_id = fields.get("event_id", "")
        if not 8 <= len(event_id) <= 64:
            raise ValueError("event_id missing or malformed")
        return cls(
            event_id=event_id,
            server_id=int(fields["server_id"]),
            status=status,
            previous=_previous(fields.get("previous") or "unknown"),
            # NUL: a reason may quote what a server sent, and PostgreSQL refuses it in text
            reason=(fields.get("reason") or None)
            and fields["reason"][:500].replace("\x00", "\ufffd"),
            latency_ms=float(fields["latency_ms"]) if fields.get("latency_ms") else None,
            at=_aware(fields["at"]),
            last_ok_at=_aware(fields["last_ok_at"]) if fields.get("last_ok_at") else None,
        )


def _previous(value: str) -> str:
    if value not in (*STATES, "unknown"):
        raise ValueError(f"previous {value!r} is not up, down or unknown")
    return value


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return parsed


def record_change(change: StateChange) -> bool:
    """Store one change and move the server's status; False when already stored or unknown."""
    return record_changes([change]) == 1


_EVENTS = ServerEvent.__table__
_STATUS = ServerStatus.__table__
_NEW_STATUS = insert(_STATUS)
_MOVE_STATUS = update(_STATUS).where(_STATUS.c.server_id == bindparam("server"))


def _add(changes: Sequence[StateChange]) -> list[StateChange]:
    """Write the batch's new changes and the statuses they move, uncommitted; returns the
    changes written. Plain statements, each run once for the whole batch (executemany):
    the ORM's unit of work inserted event rows one at a time, to read back their ids."""
    ids = {change.server_id for change in changes}
    known = set(db.session.scalars(select(Server.id).where(Server.id.in_(ids))))
    seen = set(db.session.scalars(select(_EVENTS.c.event_id).where(
        _EVENTS.c.event_id.in_({change.event_id for change in changes}))))
    since = dict(db.session.execute(select(_STATUS.c.server_id, _STATUS.c.changed_at)
                                    .where(_STATUS.c.server_id.in_(known))).all())
    had_status = set(since)
    new, latest = [], {}
    for change in changes:
        if change.server_id not in known or change.event_id in seen:
            continue
        seen.add(change.event_id)  # the same entry twice in one batch
        new.append(change)
        changed_at = since.get(change.server_id)
        if changed_at is None or change.at >= changed_at:
            since[change.server_id] = change.at
            latest[change.server_id] = change
    if not new:
        return new
    db.session.execute(insert(_EVENTS), [{
        "event_id": change.event_id, "server_id": change.server_id, "status": change.status,
        "previous": change.previous, "reason": change.reason,
        "latency_ms": change.latency_ms, "at": change.at, "last_ok_at": change.last_ok_at,
    } for change in new])
    moved = {"fresh": [], "known": []}
    for server_id, change in sorted(latest.items()):  # one lock order for every consumer
        moved["known" if server_id in had_status else "fresh"].append({
            "status": change.status, "reason": change.reason, "changed_at": change.at,
            "last_checked": change.at, "latency_ms": change.latency_ms, "server": server_id})
    if moved["fresh"]:
        db.session.execute(_NEW_STATUS.values(server_id=bindparam("server")), moved["fresh"])
    if moved["known"]:
        db.session.execute(_MOVE_STATUS, moved["known"])
    return new


def record_changes(changes: Sequence[StateChange], *, again: bool = True) -> int:
    """Store a batch of changes in one transaction; returns how many were new (the rest
    were stored already, or name servers since removed). One transaction of eight
    statements a batch, where one a change took ten: when a data centre goes dark, or the
    exporter first judges a fleet, thousands of changes arrive at once, and a commit each
    kept the worker minutes behind (bench/heartbeats.py: 10,000 first results took it
    170-225 s, now 30 s).

    A unique key the batch collides with (another consumer stored one of its entries, or
    made a server's status row, between the reads and the commit) sends the batch through
    once more, read again, which then skips what the other stored; a batch that fails
    again is the caller's to split (``StreamConsumer._handle`` tries its entries one by
    one). Browsers are told once the changes are committed."""
    try:
        new = _add(changes)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not again:
            raise
        return record_changes(changes, again=False)
    if new:
        page_cache.bump()
        publish_changes([(change.server_id, {
            "status": change.status, "previous": change.previous,
            "at": change.at.isoformat()}) for change in new])
    return len(new)


def _always() -> bool:
    return True


class StreamConsumer:
    """Reads the stream as one member of the consumer group; see the module docstring.

    ``may_read`` is asked before each round of reads: the worker reads only while its
    deployment holds the Redis database (portal/jobs/deployment.py), so it never takes
    another deployment's changes.
    """

    def __init__(self, app: Flask, name: str | None = None, *, block_ms: int = 1000,
                 batch: int = 100, may_read: Callable[[], bool] = _always) -> None:
        self.app = app
        self.redis = redis.Redis.from_url(app.config["SERVERMON"].redis_url, decode_responses=True,
                                          socket_timeout=block_ms / 1000 + 5)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.block_ms = block_ms
        self.batch = batch
        self.may_read = may_read
        self.stopping = threading.Event()
        self._group_ready = False

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(EVENTS_STREAM, EVENTS_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _handle(self, entries: list) -> int:
        """Store what the entries say, as one batch, then acknowledge them in one call. A
        batch the database refuses is tried entry by entry, so that one entry it cannot
        take stays pending alone and the rest are stored."""
        done, parsed = [], []
        for message_id, fields in entries:
            if not fields:  # trimmed from the stream while pending: nothing left to store
                done.append(message_id)
                continue
            try:
                parsed.append((message_id, StateChange.from_fields(fields)))
            except (KeyError, ValueError) as exc:
                log.error("dead-lettering stream entry %s: %s", message_id, exc)
                self.redis.xadd(DEAD_LETTER, {**fields, "error": str(exc)[:200]},
                                maxlen=10000, approximate=True)
                done.append(message_id)
        stored = 0
        with self.app.app_context():
            batches = [parsed] if parsed else []
            while batches:
                batch = batches.pop(0)  # in the stream's order
                try:
                    stored += record_changes([change for _id, change in batch])
                    done.extend(message_id for message_id, _change in batch)
                except SQLAlchemyError:
                    db.session.rollback()
                    if len(batch) > 1:
                        batches.extend([entry] for entry in batch)
                    else:
                        log.exception("could not store %s; it stays pending",
                                      batch[0][1].event_id)
                finally:
                    db.session.remove()
        if done:
            self.redis.xack(EVENTS_STREAM, EVENTS_GROUP, *done)
        return stored

    def run_once(self) -> int:
        """Own pending entries first (a crash or DB error left them), then new ones."""
        if not self._group_ready:
            self.ensure_group()
        pending = self.redis.xreadgroup(EVENTS_GROUP, self.name, {EVENTS_STREAM: "0"}, count=self.batch)
        stored = sum(self._handle(entries) for _stream, entries in pending)
        claimed = self.redis.xautoclaim(EVENTS_STREAM, EVENTS_GROUP, self.name, min_idle_time=60_000,
                                        count=self.batch)
        stored += self._handle(claimed[1])
        fresh = self.redis.xreadgroup(EVENTS_GROUP, self.name, {EVENTS_STREAM: ">"}, count=self.batch,
                                      block=self.block_ms)
        return stored + sum(self._handle(entries) for _stream, entries in fresh)

    def run_forever(self) -> None:
        log.info("ingesting %s as %s/%s", EVENTS_STREAM, EVENTS_GROUP, self.name)
        while not self.stopping.is_set():
            if not self.may_read():
                self.stopping.wait(1)
                continue
            try:
                self.run_once()
            except redis.RedisError as exc:
                log.warning("stream read failed (%s); retrying", exc)
                self._group_ready = False
                self.stopping.wait(2)
            except Exception:  # a thread that died here would leave every change unread
                log.exception("stream round failed; its entries stay pending, retrying")
                self.stopping.wait(2)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="servermon-ingest", daemon=True)
        thread.start()
        return thread
