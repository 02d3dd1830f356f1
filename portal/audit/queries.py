"""Reading the trail: the filters GET /api/audit and the Audit page share, and each row as
the API returns it.

The filters, so that one query string means the same on the page, in the API and in the
CSV:

* ``actor``: digits are an account id (or a username that is exactly those digits); any
  other text is a case-insensitive part of the actor's name, as it was when they acted.
* ``action``: an exact action (``user.updated``), or a prefix ending in a dot (``auth.``)
  for every action of an area.
* ``target``: ``kind:id`` (``server:12``, ``user:3``) for one record's events, or else a
  case-insensitive part of the target's name; ``kind:id`` also matches it as a name.
* ``from``, ``to``: instants with a UTC offset, ``from`` included, ``to`` not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.schemas import Line, PageQuery

# An account id as typed in ``actor``: the column is a 32-bit integer on PostgreSQL.
_ACTOR_ID = re.compile(r"[0-9]{1,9}")
_TARGET_KEY = re.compile(r"([a-z][a-z0-9_]*):(\S{1,64})")
BATCH = 1000


class AuditQuery(PageQuery):
    actor: Line | None = Field(None, max_length=200)
    action: Line | None = Field(None, max_length=64)
    target: Line | None = Field(None, max_length=200)
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    format: Literal["json", "csv"] = "json"

    @model_validator(mode="after")
    def _times(self) -> AuditQuery:
        for name in ("from_", "to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name.rstrip('_')}: needs a UTC offset, "
                                 "e.g. 2026-01-31T08:00:00+03:00")
        if self.from_ and self.to and self.to <= self.from_:
            raise ValueError("to: must be after from")
        return self


def _actor(text: str) -> ColumnElement[bool]:
    if _ACTOR_ID.fullmatch(text):
        return or_(AuditEvent.actor_id == int(text),
                   func.lower(AuditEvent.actor_name) == text.lower())
    return AuditEvent.actor_name.icontains(text, autoescape=True)


def _action(text: str) -> ColumnElement[bool]:
    if text.endswith("."):
        return AuditEvent.action.startswith(text, autoescape=True)
    return AuditEvent.action == text


def _target(text: str) -> ColumnElement[bool]:
    by_name = AuditEvent.target_name.icontains(text, autoescape=True)
    key = _TARGET_KEY.fullmatch(text)
    if key is None:
        return by_name
    return or_(and_(AuditEvent.target_kind == key.group(1), AuditEvent.target_id == key.group(2)),
               by_name)


def audit_query(args: AuditQuery) -> Select:
    """The matching rows, newest first. The id orders them: the chain hands ids out in the
    order events were recorded, whatever the clocks of several portal processes said."""
    query = select(AuditEvent)
    if args.actor:
        query = query.where(_actor(args.actor))
    if args.action:
        query = query.where(_action(args.action))
    if args.target:
        query = query.where(_target(args.target))
    if args.from_:
        query = query.where(AuditEvent.at >= args.from_)
    if args.to:
        query = query.where(AuditEvent.at < args.to)
    return query.order_by(AuditEvent.id.desc())


def in_chain_order(query: Select) -> Iterator[Row]:
    """Every row ``query`` matches, oldest first, fetched a batch at a time by id.

    A download of the whole trail then holds one batch in memory, each batch is a short
    query on the primary key, and plain rows (not ORM objects) leave the session's
    identity map alone while the response streams.
    """
    ordered = query.with_only_columns(*AuditEvent.__table__.columns).order_by(None).order_by(
        AuditEvent.id).limit(BATCH)
    after = 0
    while True:
        rows = db.session.execute(ordered.where(AuditEvent.id > after)).all()
        yield from rows
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def known_actions() -> list[str]:
    """Every action the trail holds, for the page's filter list."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def has_events() -> bool:
    return db.session.scalar(select(AuditEvent.id).limit(1)) is not None


def serialize_event(event: Any) -> dict:
    """A row as the API returns it: every column, who and what grouped."""
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": {"kind": event.actor_kind, "id": event.actor_id, "name": event.actor_name,
                  "token_id": event.token_id},
        "address": event.address,
        "user_agent": event.user_agent,
        "action": event.action,
        "target": {"kind": event.target_kind, "id": event.target_id, "name": event.target_name},
        "before": event.before,
        "after": event.after,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
