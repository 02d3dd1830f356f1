"""Directory accounts as user rows: created at a first sign-in, brought up to date at each
one and by the worker's re-check, disabled when the directory no longer gives access.

The directory owns a directory account's e-mail, phone (when it has them) and role; the
portal keeps the user's notification choices. Losing every mapped group, or the entry
itself, disables the account and ends its sessions (their rows, so every token minted from
them, and their open WebSockets), as a role change does: a leaver's browser is signed out at its
next request, not when its token expires. Such an account comes back at its next sign-in
with a mapped group; one an administrator disabled in the portal stays disabled. Every
change is audited with the actor ``directory``.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import delete, or_, select

from portal.audit.service import record, target_of
from portal.auth import directory, session_control
from portal.auth.directory import DirectoryUnavailable, Entry
from portal.auth.models import ApiToken, User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.realtime.publish import check_sessions_of

log = logging.getLogger(__name__)

ACTOR = "directory"
NO_PASSWORD = "!directory"  # noqa: S105 - no hash: verify_password never accepts it
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")  # as portal/users/schemas.py
UNAVAILABLE = ("the directory (LDAP) is unavailable, so directory accounts cannot sign in "
               "now; try again in a few minutes or tell IT")
NO_GROUP = ("your directory account is in no group that gives access to servermon; "
            "ask IT to add you to one")
RECHECK_BATCH = 200
_ENDED = "directory_sessions_ended"


def _fields(user: User) -> dict:
    return {"email": user.email, "phone": user.phone, "role": user.role,
            "is_active": user.is_active}


def _end_access(user: User, reason: str, *, tokens: bool) -> None:
    """In the caller's transaction; ``tell_sockets`` after its commit closes the sockets."""
    db.session.info.setdefault(_ENDED, set()).add(user.id)
    session_control.end_all(user, reason)
    if tokens:
        db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def tell_sockets() -> None:
    """After the commit: the open WebSockets of accounts whose sessions ended close now."""
    for user_id in db.session.info.pop(_ENDED, set()):
        check_sessions_of(user_id)


def disable(user: User, why: str) -> None:
    """The directory no longer gives this account access (``why``: for the trail)."""
    if not user.is_active:
        return
    before = _fields(user)
    user.is_active = False
    user.directory_disabled_at = user.directory_checked_at = utcnow()
    _end_access(user, "account disabled", tokens=True)
    record("directory.user_disabled", target_of("user", user), before={"is_active": True},
           after={"is_active": False}, actor_name=ACTOR,
           detail={"why": why, "role": before["role"]})


def apply(entry: Entry, username: str, user: User | None) -> User:
    """Create or update the row from ``entry`` (which has a role). A row an administrator
    disabled is only refreshed, not enabled."""
    assert entry.role is not None  # callers refuse an entry without one
    if user is None:
        user = User(username=username, email=entry.email or "", phone=entry.phone,
                    role=entry.role, password_hash=NO_PASSWORD, is_active=True,
                    notify_email=True, notify_sms=False, source="directory",
                    directory_dn=entry.dn, directory_checked_at=utcnow())
        db.session.add(user)
        db.session.flush()
        record("directory.user_created", target_of("user", user), after=_fields(user),
               actor_name=ACTOR, detail={"dn": entry.dn})
        return user
    before = _fields(user)
    had_api = user.can("api.access")
    user.email = entry.email or user.email
    user.phone = entry.phone or user.phone
    user.notify_sms = user.notify_sms and user.phone is not None
    user.directory_dn, user.directory_checked_at = entry.dn, utcnow()
    role_changed = user.role != entry.role
    user.role = entry.role
    if user.directory_disabled_at is not None and not user.is_active:
        user.is_active, user.directory_disabled_at = True, None
        record("directory.user_enabled", target_of("user", user), before={"is_active": False},
               after={"is_active": True}, actor_name=ACTOR)
    if role_changed:
        _end_access(user, "role changed", tokens=had_api and not user.can("api.access"))
        record("directory.role_changed", target_of("user", user),
               before={"role": before["role"]}, after={"role": user.role}, actor_name=ACTOR,
               detail={"groups": sorted(entry.groups)[:20]})
    changed = {k: v for k, v in _fields(user).items()
               if before[k] != v and k in ("email", "phone")}
    if changed:
        record("directory.user_updated", target_of("user", user),
               before={k: before[k] for k in changed}, after=changed, actor_name=ACTOR)
    return user


def sign_in(username: str, password: str, user: User | None) -> tuple[User | None, str | None]:
    """Check ``password`` against the directory: (the user, None) once the row is up to
    date, or (the row or None, why refused) for a 401. 503 when the directory is away, 403
    with NO_GROUP for a right password without a mapped group. Commits nothing: the caller
    audits the outcome and commits."""
    config = directory.settings()
    assert config is not None  # called only with a directory configured
    try:
        with directory.reader(config) as reader:
            entry = reader.find(username)
            if entry is None:
                if user is not None:
                    disable(user, "not in the directory")
                return user, "not in the directory"
            if not reader.password_ok(entry, password):
                return user, "wrong password"
    except DirectoryUnavailable as exc:
        raise APIError(503, UNAVAILABLE, {"directory": "unavailable"}) from exc
    if not USERNAME.match(username):
        return user, "username the portal cannot hold"
    if entry.role is None:
        if user is not None:
            disable(user, "in no mapped group")
        return user, "in no mapped group"
    if user is not None and not user.is_active and user.directory_disabled_at is None:
        return user, "disabled"
    return apply(entry, username, user), None


def due(limit: int = RECHECK_BATCH) -> list[User]:
    """Active directory accounts not read for ``LDAP_RECHECK_MINUTES``, the longest first."""
    config = directory.settings()
    if config is None:
        return []
    stale = utcnow() - timedelta(minutes=config.recheck_minutes)
    return list(db.session.scalars(
        select(User).where(User.source == "directory", User.is_active.is_(True),
                           or_(User.directory_checked_at.is_(None),
                               User.directory_checked_at <= stale))
        .order_by(User.directory_checked_at.asc().nullsfirst(), User.id).limit(limit)))


def recheck(users: list[User]) -> dict[str, int]:
    """Read each user again (one connection for the batch): role changes and disabling as
    at a sign-in. The directory away: nothing changes (an outage is not a leaver), and
    DirectoryUnavailable goes up for the job's log."""
    config = directory.settings()
    counts = {"checked": 0, "changed": 0, "disabled": 0}
    if config is None or not users:
        return counts
    with directory.reader(config) as reader:
        for user in users:
            entry = reader.find(user.username)
            role, active = user.role, user.is_active
            if entry is None:
                disable(user, "not in the directory")
            elif entry.role is None:
                disable(user, "in no mapped group")
            else:
                apply(entry, user.username, user)
            user.directory_checked_at = utcnow()
            counts["checked"] += 1
            if not user.is_active and active:
                counts["disabled"] += 1
            elif user.role != role:
                counts["changed"] += 1
    db.session.commit()
    tell_sockets()
    return counts
