"""What a page knows about its request: the signed-in user's permissions, the run-time
settings and the bell's count, each read at most once per request."""

from __future__ import annotations

from flask import g
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.notify.inbox import unread_count
from portal.rbac import has_permission
from portal.settings.service import SettingsData, load_settings


def can(key: str) -> bool:
    user = g.get("user")
    return bool(user and has_permission(user.role, key))


def current_settings() -> SettingsData:
    """The portal's settings, read once per request however many helpers ask."""
    if "settings" not in g:
        g.settings = load_settings()
    return g.settings


def unread_notifications() -> int:
    """The signed-in user's unread count for the navbar bell (one query per request)."""
    user = g.get("user")
    if user is None:
        return 0
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = unread_count(user.id)
        except SQLAlchemyError:
            db.session.rollback()
            return 0
    return g.unread_notifications
