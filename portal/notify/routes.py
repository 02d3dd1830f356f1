"""/api/notifications (the bell), the outbox's delivery state, and per-server contacts."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field, model_validator
from sqlalchemy import func, select, update

from portal.auth.guard import current_user, requires
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.lookups import get_or_404
from portal.notify.models import Notification, ServerContact, UserNotification
from portal.notify.outbox import serialize_user_notification
from portal.pagination import paginate
from portal.rbac import AUTHENTICATED
from portal.schemas import DbId, Line, PageQuery, Strict, parse_json, parse_query
from portal.servers.models import Server
from portal.users.schemas import Email, Phone

bp = Blueprint("notify_api", __name__, url_prefix="/api")


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count(UserNotification.id)).where(
        UserNotification.user_id == user_id, UserNotification.read_at.is_(None)))


class InboxQuery(PageQuery):
    unread: bool | None = None


@bp.get("/notifications")
@requires(AUTHENTICATED)
def inbox():
    args = parse_query(InboxQuery)
    user = current_user()
    query = select(UserNotification).where(UserNotification.user_id == user.id)
    if args.unread:
        query = query.where(UserNotification.read_at.is_(None))
    query = query.order_by(UserNotification.created_at.desc(), UserNotification.id.desc())
    page = paginate(query, args.page, args.per_page, serialize_user_notification)
    page["unread"] = unread_count(user.id)
    return jsonify(page)


class ReadIn(Strict):
    ids: list[DbId] = Field(default_factory=list, max_length=1000)
    all: bool = False

    @model_validator(mode="after")
    def _something(self) -> ReadIn:
        if not self.ids and not self.all:
            raise ValueError("ids: give ids, or all: true")
        return self


@bp.post("/notifications/read")
@requires(AUTHENTICATED)
def mark_read():
    body = parse_json(ReadIn)
    user = current_user()
    query = update(UserNotification).where(UserNotification.user_id == user.id,
                                           UserNotification.read_at.is_(None))
    if not body.all:
        query = query.where(UserNotification.id.in_(body.ids))
    db.session.execute(query.values(read_at=utcnow()))
    db.session.commit()
    return jsonify(unread=unread_count(user.id))


class OutboxQuery(PageQuery):
    status: Literal["pending", "sending", "sent", "failed"] | None = None
    incident_id: DbId | None = None


def serialize_delivery(row: Notification) -> dict:
    return {"id": row.id, "incident_id": row.incident_id, "state": row.state,
            "channel": row.channel, "recipient": row.recipient, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error,
            "created_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None}


@bp.get("/notifications/outbox")
@requires("alerts.view")
def outbox():
    args = parse_query(OutboxQuery)
    query = select(Notification).order_by(Notification.id.desc())
    if args.status:
        query = query.where(Notification.status == args.status)
    if args.incident_id is not None:
        query = query.where(Notification.incident_id == args.incident_id)
    return jsonify(paginate(query, args.page, args.per_page, serialize_delivery))


class ContactIn(Strict):
    name: Line = Field(min_length=1, max_length=100)
    email: Email | None = None
    phone: Phone = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not self.email and not self.phone:
            raise ValueError("email: give an e-mail address, a phone number, or both")
        return self


def serialize_contact(contact: ServerContact) -> dict:
    return {"id": contact.id, "server_id": contact.server_id, "name": contact.name,
            "email": contact.email, "phone": contact.phone}


@bp.get("/servers/<int:server_id>/contacts")
@requires("logs.view")
def contacts(server_id: int):
    get_or_404(Server, server_id, "server")
    rows = db.session.scalars(select(ServerContact).where(ServerContact.server_id == server_id)
                              .order_by(ServerContact.id))
    return jsonify(items=[serialize_contact(row) for row in rows])


@bp.post("/servers/<int:server_id>/contacts")
@requires("servers.manage")
def add_contact(server_id: int):
    get_or_404(Server, server_id, "server")
    body = parse_json(ContactIn)
    contact = ServerContact(server_id=server_id, name=body.name, email=body.email,
                            phone=body.phone)
    db.session.add(contact)
    db.session.commit()
    return jsonify(serialize_contact(contact)), 201


@bp.delete("/servers/<int:server_id>/contacts/<int:contact_id>")
@requires("servers.manage")
def remove_contact(server_id: int, contact_id: int):
    contact = db.session.get(ServerContact, contact_id)
    if contact is None or contact.server_id != server_id:
        raise APIError(404, f"no contact with id {contact_id}", {"id": "not found"})
    db.session.delete(contact)
    db.session.commit()
    return "", 204
