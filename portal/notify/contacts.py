"""Extra people to page for one server, besides the roles paged by default."""

from __future__ import annotations

from pydantic import Field, model_validator
from sqlalchemy import select

from portal.audit.service import record, target_of
from portal.errors import APIError
from portal.extensions import db
from portal.notify.models import ServerContact
from portal.schemas import Line, Strict
from portal.users.schemas import Email, Phone


class ContactIn(Strict):
    name: Line = Field(min_length=1, max_length=100)
    email: Email | None = None
    phone: Phone = None
    tier: int = Field(1, ge=1, le=3)  # 2 or 3: paged only when an incident escalates

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not self.email and not self.phone:
            raise ValueError("email: give an e-mail address, a phone number, or both")
        return self


def serialize_contact(contact: ServerContact) -> dict:
    return {"id": contact.id, "server_id": contact.server_id, "name": contact.name,
            "email": contact.email, "phone": contact.phone, "tier": contact.tier}


def server_contacts(server_id: int) -> list[ServerContact]:
    return list(db.session.scalars(select(ServerContact)
                                   .where(ServerContact.server_id == server_id)
                                   .order_by(ServerContact.id)))


def _audited(contact: ServerContact) -> dict:
    return {"server_id": contact.server_id, "email": contact.email, "phone": contact.phone,
            "tier": contact.tier}


def add_contact(server_id: int, body: ContactIn) -> ServerContact:
    contact = ServerContact(server_id=server_id, name=body.name, email=body.email,
                            phone=body.phone, tier=body.tier)
    db.session.add(contact)
    db.session.flush()
    record("contact.added", target_of("contact", contact), after=_audited(contact))
    db.session.commit()
    return contact


def remove_contact(server_id: int, contact_id: int) -> None:
    contact = db.session.get(ServerContact, contact_id)
    if contact is None or contact.server_id != server_id:
        raise APIError(404, f"no contact with id {contact_id}", {"id": "not found"})
    target, before = target_of("contact", contact), _audited(contact)
    db.session.delete(contact)
    record("contact.removed", target, before=before)
    db.session.commit()
