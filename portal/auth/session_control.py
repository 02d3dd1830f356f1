"""Sign-in sessions: one row per sign-in, so a user can see and end theirs and an
administrator can end all of someone's.

Every JWT carries its session's id (claim ``sid``, set by ``sessions.issue_tokens`` and
kept through every refresh), and every request reads the row by its key together with
the user (``load``): a session ended here, idle past ``session_idle_minutes`` or older
than ``session_lifetime_hours`` is refused at its next request, whichever of its access
and refresh tokens comes. ``last_seen_at`` moves at most once a minute per session (a
guarded UPDATE), and an open WebSocket counts as activity (realtime/watch.py), so an
unattended wall screen is not signed out for idleness.

The two limits are settings, but auth comes before settings in the layers: they are read
here from the settings rows (bounds and defaults below, which SettingsData reuses),
cached for a few seconds per process, and forgotten when settings are saved.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import and_, delete, select, update

from portal.audit.service import record, target_of
from portal.auth.models import SignInSession, User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.rbac import can_grant
from portal.realtime.publish import check_sessions_of
from portal.settings.models import stored_values

IDLE_MINUTES = 30
IDLE_RANGE = (1, 24 * 60)
LIFETIME_HOURS = 12
LIFETIME_RANGE = (1, 24 * 30)
TOUCH_EVERY = timedelta(seconds=60)
LIMITS_TTL_S = 10.0
KEEP_ROWS = timedelta(days=31)  # past the longest lifetime: such a row is over, whatever its state
USER_AGENT_MAX = 200
_LIMITS = "servermon_session_limits"


def now() -> datetime:
    """The clock sessions are judged by; tests replace it (``monkeypatch.setattr``)."""
    return utcnow()


@dataclass(frozen=True)
class Device:
    """What the session list shows of where a sign-in came from."""

    user_agent: str | None
    address: str | None

    @classmethod
    def of_request(cls) -> Device:
        agent = (request.user_agent.string or "").strip()[:USER_AGENT_MAX]
        return cls(agent or None, (request.remote_addr or "")[:45] or None)


# --- limits -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    idle: timedelta
    lifetime: timedelta


def _whole(value: object, default: int, bounds: tuple[int, int]) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]
    return value if ok else default  # type: ignore[return-value]


def limits() -> Limits:
    """The idle timeout and the lifetime, never longer than the refresh token's
    (``REFRESH_TOKEN_HOURS``): past that no token of the session is accepted anyway."""
    cached = current_app.extensions.get(_LIMITS)
    if cached is not None and time.monotonic() - cached[0] < LIMITS_TTL_S:
        return cached[1]
    stored = stored_values("session_idle_minutes", "session_lifetime_hours")
    idle = _whole(stored.get("session_idle_minutes"), IDLE_MINUTES, IDLE_RANGE)
    hours = _whole(stored.get("session_lifetime_hours"), LIFETIME_HOURS, LIFETIME_RANGE)
    cap = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    result = Limits(timedelta(minutes=idle), min(timedelta(hours=hours), cap))
    current_app.extensions[_LIMITS] = (time.monotonic(), result)
    return result


def forget_limits() -> None:
    """Settings were saved: this process reads them again at the next request."""
    current_app.extensions.pop(_LIMITS, None)


# --- starting and checking ----------------------------------------------------------------

def start(user_id: int, device: Device) -> str:
    """A new session row; its id goes into both JWTs as ``sid``. The user's rows older than
    any session can last go, so each account keeps about a month of them."""
    at = now()
    db.session.execute(delete(SignInSession).where(SignInSession.user_id == user_id,
                                                   SignInSession.created_at < at - KEEP_ROWS))
    sid = secrets.token_urlsafe(16)
    db.session.add(SignInSession(id=sid, user_id=user_id, user_agent=device.user_agent,
                                 address=device.address, created_at=at, last_seen_at=at))
    db.session.commit()
    return sid


def load(user_id: int, sid: str) -> tuple[User | None, SignInSession | None]:
    """The user and their session ``sid`` in one indexed query (the guard's only one)."""
    row = db.session.execute(
        select(User, SignInSession).outerjoin(
            SignInSession, and_(SignInSession.id == sid, SignInSession.user_id == User.id))
        .where(User.id == user_id)).one_or_none()
    return (None, None) if row is None else (row[0], row[1])


def _lapsed(row: SignInSession, at: datetime, bounds: Limits) -> str | None:
    if at - row.created_at >= bounds.lifetime:
        return "lifetime"
    if at - row.last_seen_at >= bounds.idle:
        return "idle"
    return None


REFUSALS = {"idle": "signed out after a time without activity; sign in again",
            "lifetime": "the session reached its maximum length; sign in again"}


def refusal(row: SignInSession | None) -> str | None:
    """Why a request in this session is refused, or None; ends a session found idle or
    past its lifetime, and otherwise records the activity (once a minute at most)."""
    if row is None:
        return "session ended; sign in again"
    if row.ended_at is not None:
        return f"session ended ({row.ended_reason}); sign in again"
    at = now()
    lapsed = _lapsed(row, at, limits())
    if lapsed is not None:
        _end_rows(SignInSession.id == row.id, lapsed, at)
        db.session.commit()
        return REFUSALS[lapsed]
    if at - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(
            update(SignInSession)
            .where(SignInSession.id == row.id, SignInSession.last_seen_at <= at - TOUCH_EVERY)
            .values(last_seen_at=at).execution_options(synchronize_session=False))
        db.session.commit()
    return None


# --- listing and ending -------------------------------------------------------------------

def active_sessions(user: User) -> list[SignInSession]:
    """The user's sessions still accepted now, the most recently used first."""
    at, bounds = now(), limits()
    return list(db.session.scalars(
        select(SignInSession).where(
            SignInSession.user_id == user.id, SignInSession.ended_at.is_(None),
            SignInSession.last_seen_at > at - bounds.idle,
            SignInSession.created_at > at - bounds.lifetime)
        .order_by(SignInSession.last_seen_at.desc(), SignInSession.created_at.desc())))


def serialize_session(row: SignInSession, current: str | None) -> dict:
    return {"id": row.id, "user_agent": row.user_agent, "address": row.address,
            "created_at": row.created_at.isoformat(), "last_seen_at": row.last_seen_at.isoformat(),
            "current": row.id == current}


def _end_rows(where, reason: str, at: datetime | None = None) -> int:
    return db.session.execute(
        update(SignInSession).where(where, SignInSession.ended_at.is_(None))
        .values(ended_at=at or now(), ended_reason=reason)
        .execution_options(synchronize_session=False)).rowcount


def end_all(user: User, reason: str, *, keep: str | None = None) -> int:
    """End every session of the user (but ``keep``) in the caller's transaction; the
    caller audits, commits and then tells the user's sockets (``check_sessions_of``)."""
    where = SignInSession.user_id == user.id
    if keep is not None:
        where = and_(where, SignInSession.id != keep)
    return _end_rows(where, reason)


def end_signed_out(sid: str) -> None:
    """Sign-out: the session ends with every token minted from it."""
    _end_rows(SignInSession.id == sid, "signed out")
    db.session.commit()


def end_one(user: User, sid: str) -> SignInSession:
    """The user ends one of their own sessions; anyone else's, or one already over, is
    answered as missing."""
    row = db.session.get(SignInSession, sid) if 0 < len(sid) <= 32 else None
    if row is None or row.user_id != user.id or row.ended_at is not None:
        raise APIError(404, "no such session", {"id": "not found"})
    _end_rows(SignInSession.id == row.id, "ended by its user")
    record("auth.session_ended", target_of("user", user), actor=user,
           detail={"session": row.id, "user_agent": row.user_agent, "address": row.address})
    db.session.commit()
    check_sessions_of(user.id)
    return row


def end_others(user: User, current: str | None) -> int:
    """Every session of the user but ``current`` (the one asking; None: an API token)."""
    count = end_all(user, "ended by its user", keep=current)
    record("auth.sessions_ended", target_of("user", user), actor=user,
           detail={"ended": count, "kept": current})
    db.session.commit()
    check_sessions_of(user.id)
    return count


def end_all_by_admin(actor: User, user: User) -> int:
    """An administrator ends all of someone's sessions, within the granting rules (as
    ``mfa.reset``): never for an account whose role outranks the actor's."""
    if not can_grant(actor.role, user.role):
        raise APIError(403, "you cannot manage an account whose role outranks yours",
                       {"role": "outranks your own role"})
    count = end_all(user, "ended by an administrator")
    record("user.sessions_ended", target_of("user", user), actor=actor, detail={"ended": count})
    db.session.commit()
    check_sessions_of(user.id)
    return count
