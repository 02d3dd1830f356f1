"""Signing in: shared by the JSON API and the login page. Every sign-in, failed or not,
is audited, and so is an account reaching its free failures (``auth.throttled``)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from portal.audit.service import Target, record, target_of
from portal.auth import directory, directory_accounts, throttle
from portal.auth.models import User
from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.jobs.broker import send
from portal.settings.models import stored_values

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "wrong username or password"


def sign_in(username: str, password: str, address: str) -> User:
    """Return the user, or raise 401 (same message whether or not the name exists), 429,
    403 (a directory account in no mapped group; local sign-in restricted to admins) or
    503 (the directory away, for a name that is not a local account's).

    With a directory configured (``LDAP_URL``), a name with no local account, or a
    directory account's, is checked by binding as the user (auth/directory_accounts.py);
    a local account always signs in with its password here, so a break-glass admin works
    while the directory is down."""
    attempt = throttle.admit(username, address)
    name = username.strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.username) == name))
    if directory.settings() is not None and (user is None or user.source == "directory"):
        try:
            user, reason = directory_accounts.sign_in(name, password, user)
        except APIError:
            # Not a guess the directory judged: it does not count against the account.
            throttle.succeeded(attempt)
            record("auth.sign_in_failed", Target("user", user.id if user else None, name[:64]),
                   actor_name=username.strip(), detail={"reason": "directory unavailable"},
                   commit=True)
            raise
    else:
        ok = verify_password(user.password_hash if user else None, password)
        reason = ("no such user" if user is None else "wrong password" if not ok
                  else "disabled" if not user.is_active else None)
        if reason is None and _local_restricted(user):
            reason = "local sign-in restricted to admins"
    if reason is not None or user is None:
        _refused(username, address, user, reason or "no such user", attempt)
        if reason in REFUSALS:
            raise APIError(403, REFUSALS[reason], {"username": reason})
        raise APIError(401, BAD_CREDENTIALS)
    throttle.succeeded(attempt)
    if user.source == "local" and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = user.last_seen_at = utcnow()
    record("auth.sign_in", target_of("user", user), actor=user,
           detail={"source": user.source} if user.source != "local" else None)
    db.session.commit()
    directory_accounts.tell_sockets()
    return user


LOCAL_RESTRICTED = ("local accounts other than administrators are switched off: sign in with "
                    "your directory account")
REFUSALS = {"in no mapped group": directory_accounts.NO_GROUP,
            "local sign-in restricted to admins": LOCAL_RESTRICTED}


def _local_restricted(user: User) -> bool:
    """The setting ``local_sign_in_admins_only`` (read from its row: auth comes before
    settings), in force only while a directory is configured."""
    if user.role == "admin" or directory.settings() is None:
        return False
    return stored_values("local_sign_in_admins_only").get("local_sign_in_admins_only") is True


def _refused(username: str, address: str, user: User | None, reason: str,
             attempt: throttle.Attempt) -> None:
    """Audit a refusal (and the account reaching its free failures), then commit, which
    also keeps what the directory changed (an account it disabled)."""
    target = Target("user", user.id if user else None, username.strip()[:64])
    record("auth.sign_in_failed", target, actor_name=username.strip(),
           detail={"reason": reason, "failures": attempt.account_failures})
    if attempt.account_failures == throttle.ACCOUNT.limit:
        record("auth.throttled", target, actor_name=username.strip(),
               detail={"failures": attempt.account_failures,
                       "since": attempt.failing_since.isoformat()})
        _queue_notice(username, address, attempt)
    db.session.commit()
    directory_accounts.tell_sockets()


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
