"""Status pages: create, change, delete (each audited), and how the API shows them."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import func, select

from portal.audit.service import Target, record
from portal.auth.models import User
from portal.errors import APIError, validation_error
from portal.extensions import db
from portal.servers import page_cache
from portal.servers.models import Server
from portal.servers.schemas import label_selector
from portal.status_pages.models import StatusComponent, StatusPage
from portal.status_pages.schemas import StatusPageIn


def serialize_component(component: StatusComponent) -> dict:
    label = (f"{component.label_key}={component.label_value}"
             if component.label_key is not None else None)
    return {"server_id": component.server_id, "label": label,
            "display_name": component.display_name, "display_group": component.display_group}


def serialize_page(page: StatusPage) -> dict:
    return {"id": page.id, "name": page.name, "slug": page.slug, "public": page.public,
            "show_internal": page.show_internal, "note": page.note,
            "components": [serialize_component(c) for c in page.components],
            "created_at": page.created_at.isoformat(), "updated_at": page.updated_at.isoformat()}


def page_list() -> list[StatusPage]:
    return list(db.session.scalars(select(StatusPage).order_by(func.lower(StatusPage.name))))


def _audited(page: StatusPage) -> dict:
    data = serialize_page(page)
    for name in ("id", "created_at", "updated_at"):
        data.pop(name)
    return data


def _target(page: StatusPage) -> Target:
    return Target("status_page", page.id, page.slug)


def _check(data: StatusPageIn, page_id: int | None) -> None:
    """What the schema cannot see: a slug another page has, servers that do not exist."""
    errors: dict[str, str] = {}
    taken = db.session.scalar(select(StatusPage.id).where(StatusPage.slug == data.slug))
    if taken is not None and taken != page_id:
        errors["slug"] = "another status page has this slug"
    wanted = {c.server_id for c in data.components if c.server_id is not None}
    found = set(db.session.scalars(select(Server.id).where(Server.id.in_(wanted)))) \
        if wanted else set()
    for position, component in enumerate(data.components):
        if component.server_id is not None and component.server_id not in found:
            errors[f"components.{position}.server_id"] = "no such server"
    if errors:
        raise APIError(400, f"invalid value for {', '.join(errors)}", errors)


def _apply(page: StatusPage, data: StatusPageIn) -> None:
    page.name, page.slug, page.public = data.name, data.slug, data.public
    page.show_internal, page.note = data.show_internal, (data.note or None)
    page.components.clear()
    db.session.flush()
    for position, component in enumerate(data.components):
        key, value = label_selector(component.label) if component.label else (None, None)
        page.components.append(StatusComponent(
            position=position, server_id=component.server_id, label_key=key, label_value=value,
            display_name=component.display_name, display_group=component.display_group))


def create_page(data: StatusPageIn, user: User) -> StatusPage:
    _check(data, None)
    page = StatusPage()
    _apply(page, data)
    db.session.add(page)
    db.session.flush()
    record("status_page.created", _target(page), after=_audited(page), actor=user)
    db.session.commit()
    page_cache.bump()
    return page


def validated(body: dict, page: StatusPage | None = None) -> StatusPageIn:
    """``body`` over the page's current fields (a PATCH), checked as a whole."""
    merged = {**(_audited(page) if page else {}), **body}
    try:
        data = StatusPageIn.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    _check(data, page.id if page else None)
    return data


def update_page(page: StatusPage, data: StatusPageIn, user: User) -> StatusPage:
    before = _audited(page)
    _apply(page, data)
    db.session.flush()
    after = _audited(page)
    if after != before:
        record("status_page.updated", _target(page), before=before, after=after, actor=user)
    db.session.commit()
    page_cache.bump()
    return page


def delete_page(page: StatusPage, user: User) -> None:
    record("status_page.deleted", _target(page), before=_audited(page), actor=user)
    db.session.delete(page)
    db.session.commit()
    page_cache.bump()
