"""Recording audit events, checking the chain, and retention.

``record`` adds the row to the caller's transaction, so a change and its record commit or
roll back together; events with nothing else to commit (a failed sign-in, a refused
token) pass ``commit=True``. Who and from where come from the request: the signed-in
user (or their personal API token), the client address as the trusted proxies report it,
and the user agent; outside a request the actor is the system.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from flask import g, has_request_context, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from portal.audit.chain import row_hash
from portal.audit.models import AuditEvent, AuditHead
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.redis_client import get_redis
from wire import SECRET_SETTINGS

MASK = "********"
CHANGED = "changed"  # a secret's new value, in an edit's record
_SECRET_WORDS = ("password", "secret", "token", "key")
# Named like nothing secret, but secret (a server's probe headers carry API keys).
_SECRET_NAMES = frozenset(SECRET_SETTINGS)
BATCH = 1000


@dataclass(frozen=True)
class Target:
    kind: str
    id: object | None = None
    name: str | None = None


def target_of(kind: str, row: Any, name: str | None = None) -> Target:
    """A target for a model row: its id and its name (username, server name...)."""
    label = name if name is not None else getattr(row, "username", None) or getattr(row, "name", None)
    return Target(kind, getattr(row, "id", None), label)


def _secret(name: str) -> bool:
    return name in _SECRET_NAMES or any(word in name.lower() for word in _SECRET_WORDS)


def masked(values: Mapping[str, Any] | None) -> dict | None:
    """Secrets never reach the trail, neither plaintext nor sealed: a field named like one
    (or a probe secret, ``wire.SECRET_SETTINGS``) shows only that it was set."""
    if values is None:
        return None
    return {name: (MASK if value not in (None, "", {}, CHANGED) else value)
            if _secret(name) else value for name, value in values.items()}


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """The fields that differ, as (before, after), secrets masked: a probe secret set anew
    shows ``changed`` after, one cleared None."""
    names = [name for name in dict.fromkeys([*before, *after]) if before.get(name) != after.get(name)]
    new = masked({name: after.get(name) for name in names}) or {}
    for name in names:
        if name in _SECRET_NAMES and new[name] == MASK:
            new[name] = CHANGED
    return masked({name: before.get(name) for name in names}) or {}, new


def _actor(actor: Any | None) -> dict[str, Any]:
    if actor is None and has_request_context():
        actor = g.get("user")
    token_id = g.get("api_token_id") if has_request_context() else None
    if actor is not None:
        return {"actor_kind": "token" if token_id else "user", "actor_id": actor.id,
                "actor_name": actor.username, "token_id": token_id}
    if has_request_context():
        return {"actor_kind": "anonymous", "actor_id": None, "actor_name": "anonymous",
                "token_id": None}
    return {"actor_kind": "system", "actor_id": None, "actor_name": "system", "token_id": None}


def _origin() -> dict[str, str | None]:
    if not has_request_context():
        return {"address": None, "user_agent": None}
    agent = request.headers.get("User-Agent")
    return {"address": (request.remote_addr or "")[:64] or None,
            "user_agent": agent[:300] if agent else None}


def _locked_head() -> AuditHead | None:
    """The head, locked for this transaction: a no-op UPDATE first takes PostgreSQL's row
    lock and SQLite's write lock (SQLite ignores FOR UPDATE), so the read that follows sees
    the last committed row and no other event can be added until this one commits."""
    db.session.execute(update(AuditHead).where(AuditHead.id == 1)
                       .values(last_id=AuditHead.last_id))
    return db.session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()


def _head() -> AuditHead:
    head = _locked_head()
    if head is None:  # the migration makes it; tables emptied by hand (or a test) do not
        last = db.session.execute(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one_or_none()
        try:
            with db.session.begin_nested():
                db.session.add(AuditHead(id=1, last_id=last.id if last else 0,
                                         last_hash=last.hash if last else "",
                                         purged_through_id=0, purged_through_hash=""))
        except IntegrityError:
            pass  # another transaction made it first
        head = _locked_head()
    return head


def record(action: str, target: Target | None = None, *, before: Mapping | None = None,
           after: Mapping | None = None, detail: Mapping | None = None, actor: Any | None = None,
           actor_name: str | None = None, commit: bool = False) -> AuditEvent:
    """Add one event to the chain. ``actor`` overrides the request's user (say, the account
    just signed in); ``actor_name`` names an anonymous caller (the username typed)."""
    head = _head()
    who = _actor(actor)
    if actor_name is not None and who["actor_kind"] in ("anonymous", "system"):
        who["actor_name"] = actor_name[:200]
    event = AuditEvent(
        id=head.last_id + 1, at=utcnow(), action=action, **who, **_origin(),
        target_kind=target.kind if target else None,
        target_id=None if target is None or target.id is None else str(target.id)[:64],
        target_name=(target.name or "")[:200] or None if target else None,
        before=masked(before), after=masked(after), detail=masked(detail),
        prev_hash=head.last_hash)
    event.hash = row_hash(event, event.prev_hash)
    head.last_id, head.last_hash = event.id, event.hash
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def record_sampled(key: str, action: str, target: Target | None = None, *,
                   every_s: int = 60, **fields: Any) -> AuditEvent | None:
    """``record`` and commit, at most once per ``every_s`` for ``key``: for refusals anyone
    on the network can cause as fast as they like. Without Redis every one is recorded."""
    try:
        if not get_redis().set(f"audit:sampled:{key}", 1, nx=True, ex=every_s):
            return None
    except redis.RedisError:
        pass
    return record(action, target, commit=True, **fields)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    head_hash: str
    problem: str | None = None
    row_id: int | None = None


def _rows() -> Iterator[AuditEvent]:
    after = -1
    while True:
        batch = db.session.execute(select(AuditEvent).where(AuditEvent.id > after)
                                   .order_by(AuditEvent.id).limit(BATCH)).scalars().all()
        if not batch:
            return
        yield from batch
        after = batch[-1].id
        db.session.expunge_all()


def verify() -> Verdict:
    """Walk the chain from where retention cut it to the head; name the first broken row."""
    head = db.session.get(AuditHead, 1)
    expected_id = (head.purged_through_id if head else 0) + 1
    prev = head.purged_through_hash if head else ""
    last_id, last_hash = (head.last_id, head.last_hash) if head else (0, "")
    count = 0
    for row in _rows():
        if row.id != expected_id:
            return Verdict(False, count, prev, f"rows {expected_id}-{row.id - 1} are missing",
                           expected_id)
        if row.prev_hash != prev:
            return Verdict(False, count, prev, f"row {row.id} does not follow row {row.id - 1} "
                           "(its link to the previous row was changed)", row.id)
        if row_hash(row, prev) != row.hash:
            return Verdict(False, count, prev, f"row {row.id} was changed after it was written "
                           "(its content does not match its hash)", row.id)
        prev, expected_id, count = row.hash, row.id + 1, count + 1
    if expected_id - 1 != last_id or prev != last_hash:
        return Verdict(False, count, prev, f"rows {expected_id}-{last_id} are missing from the "
                       "end of the trail", expected_id)
    return Verdict(True, count, prev)


def purge(retention_days: int, now: datetime | None = None) -> int:
    """Delete rows older than the retention, oldest first, and move the chain's start to
    the last one deleted, so the rest still verify; the purge is itself recorded."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    head = _head()
    last = db.session.execute(
        select(AuditEvent).where(AuditEvent.at < cutoff, AuditEvent.id < head.last_id)
        .order_by(AuditEvent.id.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        return 0
    deleted = db.session.execute(
        delete(AuditEvent).where(AuditEvent.id <= last.id)).rowcount
    head.purged_through_id, head.purged_through_hash = last.id, last.hash
    record("audit.purged", detail={"through_id": last.id, "rows": deleted,
                                   "older_than": cutoff.isoformat(), "retention_days": retention_days})
    return deleted

