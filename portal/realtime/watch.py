"""Whether an open socket's session still holds.

A socket authenticates once, at the handshake, and would otherwise go on trusting that for
hours: after a sign-out in another tab, a disabled account, a new password or a changed
role. So it asks again, every ``SESSION_CHECK_EVERY_S`` and at once when the bus says one of
its user's sessions ended, the same questions ``authenticate`` asks of a request: one Redis
EXISTS for the session's revoked ids and one primary-key SELECT for the account and its
sign-in session (auth/session_control.py). An open socket is a page in use: the check
counts as the session's activity (``last_seen_at``, once a minute at most), so a wall
screen is not signed out for idleness; the session's lifetime still ends it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import g, request
from flask_jwt_extended import decode_token, get_jwt
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal.auth import session_control
from portal.auth.guard import hash_api_token
from portal.auth.models import ApiToken, User
from portal.auth.sessions import is_jti_revoked
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db

SESSION_CHECK_EVERY_S = 2.0
# Close codes the page's script (portal/static/live/core.js) acts on.
SESSION_ENDED = 4401  # sign in again: the page reloads and the guard sends it to sign-in
ROLE_CHANGED = 4403  # reconnect at once: the new socket gets the new role's events
TRY_AGAIN_LATER = 1013  # the session cannot be checked now: reconnect with backoff


@dataclass(frozen=True)
class Ending:
    code: int
    reason: str


@dataclass
class SessionWatch:
    """What the handshake saw, to compare with what holds now."""

    user_id: int
    role: str
    jtis: tuple[str, ...] = ()  # the session's token ids; sign-out revokes them
    ends_at: float | None = None  # past this neither of its tokens would be accepted
    sid: str | None = None  # its sign-in session, ended by a sign-out or from the session list
    token_hash: str | None = None  # set when a personal API token opened the socket
    checked_at: float = field(default_factory=time.monotonic)

    @classmethod
    def of_handshake(cls, user: User) -> SessionWatch:
        """Call right after ``authenticate`` succeeded for this request."""
        if g.get("auth_method") == "api_token":
            header = request.headers.get("Authorization", "")
            return cls(user.id, user.role, token_hash=hash_api_token(header[len("Bearer "):].strip()))
        # A socket opened with the refresh cookie alone has the access claims minted for it.
        fresh = g.get("refreshed_access_token")
        claims = decode_token(fresh) if fresh else get_jwt()
        return cls(user.id, user.role, jtis=(claims["jti"], claims["rjti"]),
                   ends_at=max(claims["exp"], claims["rexp"]),
                   sid=claims["sid"])

    def ending(self, *, now: bool = False) -> Ending | None:
        """Why the socket must close, or None; asks Redis and the database at most once per
        ``SESSION_CHECK_EVERY_S`` unless ``now``. Holds no database connection afterwards."""
        if not now and time.monotonic() - self.checked_at < SESSION_CHECK_EVERY_S:
            return None
        self.checked_at = time.monotonic()
        try:
            return self._ending()
        except APIError:
            return Ending(TRY_AGAIN_LATER, "session store unavailable")
        except SQLAlchemyError:
            return Ending(TRY_AGAIN_LATER, "database unavailable")
        finally:
            db.session.remove()

    def _ending(self) -> Ending | None:
        if self.ends_at is not None and time.time() >= self.ends_at:
            return Ending(SESSION_ENDED, "session expired")
        if self.jtis and is_jti_revoked(*self.jtis):
            return Ending(SESSION_ENDED, "signed out")
        if self.sid is None:
            account, row = db.session.get(User, self.user_id), None
        else:
            account, row = session_control.load(self.user_id, self.sid)
        if account is None or not account.is_active:
            return Ending(SESSION_ENDED, "account disabled")
        if self.token_hash is not None:
            if not self._token_holds():
                return Ending(SESSION_ENDED, "API token revoked or expired")
        elif (problem := session_control.refusal(row)) is not None:  # also: this was activity
            return Ending(SESSION_ENDED, problem[:100])
        if account.role != self.role:
            return Ending(ROLE_CHANGED, "role changed")
        return None

    def _token_holds(self) -> bool:
        expiry = db.session.execute(
            select(ApiToken.expires_at).where(ApiToken.token_hash == self.token_hash,
                                              ApiToken.user_id == self.user_id)
        ).one_or_none()
        return expiry is not None and (expiry.expires_at is None or expiry.expires_at > utcnow())
