"""The notification centre: the signed-in user's in-app notifications, newest first.

Marking as read goes through the same ``notify.inbox`` functions as the API's
``/api/notifications/read``, always limited to the user's own rows.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from portal.auth.guard import current_user, requires
from portal.errors import APIError, validation_error
from portal.notify import endpoints as endpoint_book
from portal.notify.endpoints import EndpointIn
from portal.notify.inbox import (
    inbox_query,
    mark_read,
    own_notification,
    unread_count,
    wave_sizes,
)
from portal.notify.links import body_parts
from portal.pagination import paginate
from portal.rbac import AUTHENTICATED
from portal.web.forms import not_added, optional_number, page_number

bp = Blueprint("notify_pages", __name__, template_folder="templates")

PAGE_SIZE = 25


def _back(page: str | None = None):
    page = page if page and page.isdigit() and page != "1" else None
    return redirect(url_for("notify_pages.notifications", page=page))


@bp.get("/notifications")
@requires(AUTHENTICATED, page=True)
def notifications():
    user = current_user()
    result = paginate(inbox_query(user.id), page_number(), PAGE_SIZE, lambda row: row)

    def page_url(number: int) -> str:
        return url_for("notify_pages.notifications", page=number)

    return render_template("notify/notifications.html", result=result,
                           unread=unread_count(user.id), page_url=page_url, body_parts=body_parts,
                           sizes=wave_sizes([row.id for row in result["items"]]))


@bp.post("/notifications/<int:notification_id>/read")
@requires(AUTHENTICATED, page=True)
def mark_one_read(notification_id: int):
    user = current_user()
    if own_notification(user.id, notification_id) is None:
        raise APIError(404, f"no notification with id {notification_id}", {"id": "not found"})
    mark_read(user.id, [notification_id])
    return _back(request.form.get("page"))


@bp.post("/notifications/read-all")
@requires(AUTHENTICATED, page=True)
def mark_all_read():
    marked = mark_read(current_user().id)
    flash(f"{marked} notification{'' if marked == 1 else 's'} marked as read." if marked
          else "Nothing was unread.", "success")
    return _back(request.form.get("page"))


@bp.post("/settings/endpoints")
@requires("settings.manage", page=True)
def add_endpoint():
    """The Settings page's form: the same schema as the API's."""
    form = request.form
    data = {"name": form.get("name", ""), "kind": form.get("kind", ""),
            "url": form.get("url", "").strip(), **optional_number(form, "tier")}
    try:
        endpoint = endpoint_book.add_endpoint(EndpointIn.model_validate(data))
    except ValidationError as exc:
        flash(not_added("endpoint", validation_error(exc).details), "warning")
    else:
        flash(f"Endpoint {endpoint.name} added.", "success")
    return redirect(url_for("settings_pages.settings") + "#endpoints-heading")


@bp.post("/settings/endpoints/<int:endpoint_id>/delete")
@requires("settings.manage", page=True)
def remove_endpoint(endpoint_id: int):
    endpoint_book.remove_endpoint(endpoint_id)
    flash("Endpoint removed.", "success")
    return redirect(url_for("settings_pages.settings") + "#endpoints-heading")
