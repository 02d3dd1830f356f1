"""/api/status-pages: the status pages staff define for customers."""

from __future__ import annotations

from flask import Blueprint, jsonify

from portal.auth.guard import current_user, requires
from portal.lookups import get_or_404
from portal.schemas import json_object, takes
from portal.status_pages.models import StatusPage
from portal.status_pages.schemas import StatusPageIn
from portal.status_pages.service import (
    create_page,
    delete_page,
    page_list,
    serialize_page,
    update_page,
    validated,
)

bp = Blueprint("status_pages_api", __name__, url_prefix="/api")
FIELDS = tuple(StatusPageIn.model_fields)


@bp.get("/status-pages")
@requires("status.view")
def list_pages():
    """Every status page, by name."""
    return jsonify({"items": [serialize_page(page) for page in page_list()]})


@bp.post("/status-pages")
@requires("servers.manage")
@takes(body=StatusPageIn)
def create():
    """Define a status page; every bad field is named at once."""
    page = create_page(validated(json_object()), current_user())
    return jsonify(serialize_page(page)), 201


@bp.get("/status-pages/<int:page_id>")
@requires("status.view")
def show(page_id: int):
    """One status page, with its components in order."""
    return jsonify(serialize_page(get_or_404(StatusPage, page_id, "status page")))


@bp.patch("/status-pages/<int:page_id>")
@requires("servers.manage")
@takes(body=StatusPageIn)
def update(page_id: int):
    """Change any of a page's fields (components replace the list), checked as a whole."""
    page = get_or_404(StatusPage, page_id, "status page")
    data = validated(json_object(known=FIELDS), page)
    return jsonify(serialize_page(update_page(page, data, current_user())))


@bp.delete("/status-pages/<int:page_id>")
@requires("servers.manage")
def delete(page_id: int):
    """Delete a status page: its address answers 404 at once."""
    delete_page(get_or_404(StatusPage, page_id, "status page"), current_user())
    return "", 204
