"""The status page customers see (``/status/<slug>``) and the pages staff define them on.

A public page needs no session and costs no database query once warm: its HTML is
rendered with the view (``view.page_view``) and shared by every visitor until it is
recomputed. A staff-only page is the same HTML behind a sign-in.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from portal.auth.guard import NotAuthenticated, authenticate, current_user, public, requires
from portal.errors import APIError
from portal.lookups import get_or_404
from portal.rbac import has_permission
from portal.servers import page_cache
from portal.status_pages.form import FORM_FIELDS, form_values, page_values, read_form
from portal.status_pages.models import StatusPage
from portal.status_pages.service import (
    create_page,
    delete_page,
    page_list,
    update_page,
    validated,
)
from portal.status_pages.view import TTL_S, build
from portal.web.forms import form_errors

bp = Blueprint("status_pages", __name__, template_folder="templates")


def _rendered(slug: str) -> dict | None:
    view = build(slug)
    if view is None:
        return None
    return {"public": view.public, "html": render_template("status_pages/public.html", page=view)}


@bp.get("/status/<slug>")
@public("a status page for customers; a staff-only one asks for sign-in itself")
def status_page(slug: str):
    if len(slug) > 60:
        abort(404)
    shown = page_cache.cached(("status_page", slug), lambda: _rendered(slug), ttl_s=TTL_S,
                              background=page_cache.in_background)
    if shown is None:
        abort(404)
    if shown["public"]:
        return shown["html"], 200, {"Cache-Control": f"public, max-age={int(TTL_S)}"}
    try:
        user = authenticate(allow_refresh_cookie=True)
    except NotAuthenticated:
        return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
    if not has_permission(user.role, "status.view"):
        raise APIError(403, "your role does not have the status.view permission",
                       {"permission": "status.view"})
    return shown["html"]


@bp.get("/status-pages")
@requires("status.view", page=True)
def manage():
    return render_template("status_pages/list.html", pages=page_list())


def _form(values: dict, errors: dict, page: StatusPage | None = None, status: int = 200):
    return render_template("status_pages/form.html", values=values, errors=errors,
                           page=page), status


@bp.get("/status-pages/new")
@requires("servers.manage", page=True)
def new():
    return _form(form_values(), {})


@bp.get("/status-pages/<int:page_id>/edit")
@requires("servers.manage", page=True)
def edit(page_id: int):
    page = get_or_404(StatusPage, page_id, "status page")
    return _form(page_values(page), {}, page)


def _save(page: StatusPage | None):
    values, body, errors = read_form(request.form)
    if errors:
        return _form(values, errors, page, 400)
    try:
        data = validated(body, page)
        saved = update_page(page, data, current_user()) if page else \
            create_page(data, current_user())
    except APIError as exc:
        return _form(values, form_errors(exc, FORM_FIELDS), page, 400)
    flash(f"Status page {saved.name} saved.", "success")
    return redirect(url_for("status_pages.manage"))


@bp.post("/status-pages")
@requires("servers.manage", page=True)
def create():
    return _save(None)


@bp.post("/status-pages/<int:page_id>")
@requires("servers.manage", page=True)
def update(page_id: int):
    return _save(get_or_404(StatusPage, page_id, "status page"))


@bp.post("/status-pages/<int:page_id>/delete")
@requires("servers.manage", page=True)
def delete(page_id: int):
    page = get_or_404(StatusPage, page_id, "status page")
    name = page.name
    delete_page(page, current_user())
    flash(f"Status page {name} deleted.", "success")
    return redirect(url_for("status_pages.manage"))
