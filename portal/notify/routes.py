"""/api/notifications (the bell), the outbox's delivery state, per-server contacts, and
the notification endpoints (webhooks, chat channels)."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field, model_validator

from portal.auth.guard import current_user, requires
from portal.lookups import get_or_404
from portal.notify import contacts as contact_book
from portal.notify import endpoints as endpoint_book
from portal.notify import inbox as bell
from portal.notify.deliveries import CONTACTS_PERMISSION, delivery_query, serialize_delivery
from portal.notify.models import NotificationEndpoint
from portal.pagination import paginate
from portal.rbac import AUTHENTICATED
from portal.schemas import DbId, PageQuery, Strict, parse_json, parse_query
from portal.servers.models import Server

bp = Blueprint("notify_api", __name__, url_prefix="/api")


class InboxQuery(PageQuery):
    unread: bool | None = None


@bp.get("/notifications")
@requires(AUTHENTICATED)
def inbox():
    args = parse_query(InboxQuery)
    user = current_user()
    page = paginate(bell.inbox_query(user.id, unread_only=bool(args.unread)), args.page,
                    args.per_page, lambda row: row)
    sizes = bell.wave_sizes([row.id for row in page["items"]])
    page["items"] = [bell.serialize_user_notification(row, sizes[row.id]) for row in page["items"]]
    page["unread"] = bell.unread_count(user.id)
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
    bell.mark_read(user.id, None if body.all else body.ids)
    return jsonify(unread=bell.unread_count(user.id))


class OutboxQuery(PageQuery):
    status: Literal["pending", "sending", "sent", "failed"] | None = None
    incident_id: DbId | None = None


@bp.get("/notifications/outbox")
@requires("alerts.view")
def outbox():
    args = parse_query(OutboxQuery)
    full = current_user().can(CONTACTS_PERMISSION)  # staff addresses, as for contacts
    return jsonify(paginate(delivery_query(args.status, args.incident_id), args.page,
                            args.per_page, lambda row: serialize_delivery(row, full)))


@bp.get("/servers/<int:server_id>/contacts")
@requires("logs.view")
def contacts(server_id: int):
    get_or_404(Server, server_id, "server")
    return jsonify(items=[contact_book.serialize_contact(row)
                          for row in contact_book.server_contacts(server_id)])


@bp.post("/servers/<int:server_id>/contacts")
@requires("servers.manage")
def add_contact(server_id: int):
    get_or_404(Server, server_id, "server")
    contact = contact_book.add_contact(server_id, parse_json(contact_book.ContactIn))
    return jsonify(contact_book.serialize_contact(contact)), 201


@bp.delete("/servers/<int:server_id>/contacts/<int:contact_id>")
@requires("servers.manage")
def remove_contact(server_id: int, contact_id: int):
    contact_book.remove_contact(server_id, contact_id)
    return "", 204


@bp.get("/notifications/endpoints")
@requires("settings.manage")
def endpoints():
    return jsonify(items=[endpoint_book.serialize_endpoint(row)
                          for row in endpoint_book.all_endpoints()])


@bp.post("/notifications/endpoints")
@requires("settings.manage")
def add_endpoint():
    endpoint = endpoint_book.add_endpoint(parse_json(endpoint_book.EndpointIn))
    return jsonify(endpoint_book.serialize_endpoint(endpoint, with_key=True)), 201


@bp.get("/notifications/endpoints/<int:endpoint_id>")
@requires("settings.manage")
def endpoint(endpoint_id: int):
    row = get_or_404(NotificationEndpoint, endpoint_id, "endpoint")
    return jsonify(endpoint_book.serialize_endpoint(row, with_key=True))


@bp.delete("/notifications/endpoints/<int:endpoint_id>")
@requires("settings.manage")
def remove_endpoint(endpoint_id: int):
    endpoint_book.remove_endpoint(endpoint_id)
    return "", 204
