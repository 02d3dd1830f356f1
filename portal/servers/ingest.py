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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from portal.extensions import db
from portal.servers import page_cache
from portal.servers.live import publish_status
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
            previous=fields.get("previous") or "unknown",
            reason=(fields.get("reason") or None) and fields["reason"][:500],
            latency_ms=float(fields["latency_ms"]) if fields.get("latency_ms") else None,
            at=_aware(fields["at"]),
            last_ok_at=_aware(fields["last_ok_at"]) if fields.get("last_ok_at") else None,
        )


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return parsed


def record_change(change: StateChange) -> bool:
    """Store one change and move the server's status; False when already stored or unknown."""
    if db.session.get(Server, change.server_id) is None:
        return False
    seen = select(ServerEvent.id).where(ServerEvent.event_id == change.event_id)
    if db.session.scalar(seen) is not None:
        return False
    db.session.add(ServerEvent(
        event_id=change.event_id, server_id=change.server_id, status=change.status,
        previous=change.previous, reason=change.reason, latency_ms=change.latency_ms,
        at=change.at, last_ok_at=change.last_ok_at,
    ))
    state = db.session.get(ServerStatus, change.server_id)
    if state is None:
        state = ServerStatus(server_id=change.server_id)
        db.session.add(state)
    if state.changed_at is None or change.at >= state.changed_at:
        state.status, state.reason = change.status, change.reason
        state.changed_at = state.last_checked = change.at
        state.latency_ms = change.latency_ms
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another consumer stored the same event_id first
        return False
    page_cache.bump()
    publish_status(change.server_id, {"status": change.status, "previous": change.previous,
                                      "at": change.at.isoformat()})
    return True


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
        stored = 0
        for message_id, fields in entries:
            if not fields:  # trimmed from the stream while pending: nothing left to store
                self.redis.xack(EVENTS_STREAM, EVENTS_GROUP, message_id)
                continue
            try:
                change = StateChange.from_fields(fields)
            except (KeyError, ValueError) as exc:
                log.error("dead-lettering stream entry %s: %s", message_id, exc)
                self.redis.xadd(DEAD_LETTER, {**fields, "error": str(exc)[:200]},
                                maxlen=10000, approximate=True)
                self.redis.xack(EVENTS_STREAM, EVENTS_GROUP, message_id)
                continue
            with self.app.app_context():
                try:
                    stored += record_change(change)
                except SQLAlchemyError:
                    db.session.rollback()
                    log.exception("could not store %s; it stays pending", change.event_id)
                    continue
                finally:
                    db.session.remove()
            self.redis.xack(EVENTS_STREAM, EVENTS_GROUP, message_id)
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

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="servermon-ingest", daemon=True)
        thread.start()
        return thread
