"""The notification centre: the signed-in user's in-app notifications, newest first.

Marking as read is the same UPDATE the API's ``/api/notifications/read`` makes, always
limited to the user's own rows, so one person cannot touch another's bell.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select, update

from portal.auth.guard import current_user, requires
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.notify.models import UserNotification
from portal.notify.routes import unread_count
from portal.pagination import paginate
from portal.rbac import AUTHENTICATED
from portal.web import page_number

bp = Blueprint("notify_pages", __name__, template_folder="templates")

PAGE_SIZE = 25


def _mark_read(user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) unread notification of this user; returns how many."""
    query = update(UserNotification).where(UserNotification.user_id == user_id,
                                           UserNotification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(UserNotification.id == notification_id)
    marked = db.session.execute(query.values(read_at=utcnow())).rowcount
    db.session.commit()
    return marked


def _back(page: str | None = None):
    page = page if page and page.isdigit() and page != "1" else None
    return redirect(url_for("notify_pages.notifications", page=page))


@bp.get("/notifications")
@requires(AUTHENTICATED, page=True)
def notifications():
    user = current_user()
    query = (select(UserNotification).where(UserNotification.user_id == user.id)
             .order_by(UserNotification.created_at.desc(), UserNotification.id.desc()))
    result = paginate(query, page_number(), PAGE_SIZE, lambda row: row)

    def page_url(number: int) -> str:
        return url_for("notify_pages.notifications", page=number)

    return render_template("notify/notifications.html", result=result,
                           unread=unread_count(user.id), page_url=page_url)


@bp.post("/notifications/<int:notification_id>/read")
@requires(AUTHENTICATED, page=True)
def mark_one_read(notification_id: int):
    user = current_user()
    row = db.session.get(UserNotification, notification_id)
    if row is None or row.user_id != user.id:
        raise APIError(404, f"no notification with id {notification_id}", {"id": "not found"})
    _mark_read(user.id, notification_id)
    return _back(request.form.get("page"))


@bp.post("/notifications/read-all")
@requires(AUTHENTICATED, page=True)
def mark_all_read():
    marked = _mark_read(current_user().id)
    flash(f"{marked} notification{'' if marked == 1 else 's'} marked as read." if marked
          else "Nothing was unread.", "success")
    return _back(request.form.get("page"))
