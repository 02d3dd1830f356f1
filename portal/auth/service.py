"""Signing in: shared by the JSON API and the login page."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.auth import throttle
from portal.auth.models import User
from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db

BAD_CREDENTIALS = "wrong username or password"


def sign_in(username: str, password: str, address: str) -> User:
    """Return the user, or raise 401 (same message whether or not the name exists) or 429."""
    throttle.check(username, address)
    user = db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        throttle.record_failure(username, address)
        raise APIError(401, BAD_CREDENTIALS)
    throttle.record_success(username, address)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = user.last_seen_at = utcnow()
    db.session.commit()
    return user
