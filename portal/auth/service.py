"""Signing in: shared by the JSON API and the login page. Every sign-in, failed or not,
is audited, and so is an account reaching its free failures (``auth.throttled``)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from portal.audit.service import Target, record, target_of
from portal.auth import throttle
from portal.auth.models import User
from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.jobs.broker import send

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "wrong username or password"


def sign_in(username: str, password: str, address: str) -> User:
    """Return the user, or raise 401 (same message whether or not the name exists) or 429."""
    attempt = throttle.admit(username, address)
    user = db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        reason = "no such user" if user is None else "wrong password" if not ok else "disabled"
        target = Target("user", user.id if user else None, username.strip()[:64])
        record("auth.sign_in_failed", target, actor_name=username.strip(),
               detail={"reason": reason, "failures": attempt.account_failures})
        if attempt.account_failures == throttle.ACCOUNT.limit:
            record("auth.throttled", target, actor_name=username.strip(),
                   detail={"failures": attempt.account_failures,
                           "since": attempt.failing_since.isoformat()})
            _queue_notice(username, address, attempt)
        db.session.commit()
        raise APIError(401, BAD_CREDENTIALS)
    throttle.succeeded(attempt)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = user.last_seen_at = utcnow()
    record("auth.sign_in", target_of("user", user), actor=user)
    db.session.commit()
    return user


def _queue_notice(username: str, address: str, attempt: throttle.Attempt) -> None:
    """Tell the owner the account is being guessed at (portal/notify/account_notices.py).

    Queued for any name typed, existing or not, so what a failure costs does not depend on
    whether the account exists; the job finds out. Never the password tried. A Redis that
    just let the attempt in and now refuses the job costs the owner that notice, not the
    answer."""
    try:
        send("send_account_notice", username.strip().lower(), address,
             attempt.account_failures, attempt.failing_since.isoformat())
    except Exception as exc:
        log.warning("failed sign-in notice not queued: %s", exc)
