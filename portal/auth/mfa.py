"""Two-factor sign-in (TOTP, RFC 6238): secrets, codes that work once, recovery codes and
the pending sign-in between the password and the code.

No session exists until the second step is done: a good password for a user who has
two-factor sign-in, or whose role must (setting ``mfa_required_roles``), yields a pending
token, random and short-lived, kept in Redis under its hash and consumed with GETDEL, so
it finishes one sign-in only. Only a right code (or a confirmed enrolment) then issues
the JWT session, with ``mfa_at`` saying when the second factor was checked.

The TOTP secret must be usable, so it is stored encrypted (Fernet, keyed from the app's
secret key), never logged. A code is accepted within one 30 s step either side; the step
used is written to the user row with a compare-and-set, so a code, even sent twice in
parallel, signs in once. Recovery codes carry 80 random bits each, far beyond guessing
even offline, so a plain SHA-256 (not a slow password hash) is enough and lets a use
be one conditional UPDATE: single-use under concurrency as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
import redis
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import delete, or_, update

from portal.audit.service import record, target_of
from portal.auth import session_control, throttle
from portal.auth.models import RecoveryCode, User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.rbac import can_grant
from portal.realtime.publish import check_sessions_of
from portal.redis_client import get_redis

ISSUER = "servermon"
PENDING_PREFIX = "mfa:pending:"
PENDING_TTL_S = 5 * 60
FRESH_S = 10 * 60  # creating an API token needs a second factor this recent
RECOVERY_COUNT = 10
STEP_S = 30


def now() -> float:
    """The clock codes are checked against; tests replace it (``monkeypatch.setattr``)."""
    return time.time()


# --- who needs it -------------------------------------------------------------------------

def has_mfa(user: User) -> bool:
    return user.totp_enabled_at is not None


def required_for(user: User, roles: Collection[str]) -> bool:
    """``roles``: the setting ``mfa_required_roles`` (auth is read before settings, so the
    pages and routes pass it in)."""
    return user.role in roles


def needs_second_step(user: User, roles: Collection[str]) -> bool:
    return has_mfa(user) or required_for(user, roles)


def is_fresh(user: User, mfa_at: object, roles: Collection[str]) -> bool:
    """May this session create API tokens? Users without 2FA whose role does not require
    it keep today's rule (any session); the others need a second factor in the last
    FRESH_S seconds."""
    if not needs_second_step(user, roles):
        return True
    return isinstance(mfa_at, (int, float)) and 0 <= time.time() - mfa_at <= FRESH_S


def require_fresh(user: User, mfa_at: object, roles: Collection[str]) -> None:
    if not is_fresh(user, mfa_at, roles):
        message = (f"creating an API token needs a two-factor sign-in within the last "
                   f"{FRESH_S // 60} minutes; sign out and in again with a code")
        raise APIError(403, message, {"mfa": message})


# --- the secret ---------------------------------------------------------------------------

def _fernet() -> Fernet:
    key = hashlib.sha256(b"servermon-totp:" + current_app.config["SERVERMON"].secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def secret_of(user: User) -> str | None:
    if not user.totp_secret:
        return None
    try:
        return _fernet().decrypt(user.totp_secret.encode()).decode()
    except InvalidToken:
        return None  # the secret key changed: the user must enrol again


def begin_enrolment(user: User) -> str:
    """The secret being enrolled (new unless one is already waiting for its first code)."""
    if has_mfa(user):
        raise APIError(409, "two-factor sign-in is already set up", {"mfa": "already enrolled"})
    secret = secret_of(user)
    if secret is None:
        secret = pyotp.random_base32()
        user.totp_secret = _fernet().encrypt(secret.encode()).decode()
        user.totp_last_step = None
        db.session.commit()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG, drawn here: the secret never leaves the portal."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


# --- codes ----------------------------------------------------------------------------------

def _matching_step(secret: str, code: str) -> int | None:
    totp = pyotp.TOTP(secret)
    at = now()
    step = totp.timecode(_as_datetime(at))
    for offset in (-1, 0, 1):  # valid_window=1, and we learn which step matched
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


def _as_datetime(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _claim_step(user: User, step: int) -> bool:
    """Compare-and-set: the step is taken only if no later or equal one was used."""
    result = db.session.execute(
        update(User).where(User.id == user.id,
                           or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(user)
    return result.rowcount == 1


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def check_totp(user: User, code: str) -> bool:
    secret = secret_of(user)
    digits = "".join(code.split())
    if secret is None or not (digits.isdigit() and len(digits) == 6):
        return False
    step = _matching_step(secret, digits)
    return step is not None and _claim_step(user, step)


def use_recovery_code(user: User, code: str) -> bool:
    digest = _hash_recovery(code)
    result = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                   RecoveryCode.code_hash == digest,
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    record("auth.mfa_recovery_used", target_of("user", user), actor=user,
           detail={"left": recovery_codes_left(user)})
    db.session.commit()
    return True


def verify(user: User, code: str, address: str, *, recovery: bool = True) -> None:
    """A current code (or, with ``recovery``, an unused recovery code) or raise 401/429.
    Wrong codes are throttled as passwords are, on counters of their own per account and
    address, and audited."""
    attempt = throttle.admit("mfa:" + user.username, address)
    if not isinstance(code, str) or len(code) > 64:
        code = ""
    ok = check_totp(user, code) or (recovery and len(_normalise(code)) == 16
                                    and use_recovery_code(user, code))
    if not ok:
        record("auth.mfa_failed", target_of("user", user), actor_name=user.username,
               detail={"failures": attempt.account_failures})
        db.session.commit()
        raise APIError(401, "wrong or already used code", {"code": "wrong or already used"})
    throttle.succeeded(attempt)


# --- recovery codes -------------------------------------------------------------------------

def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes (80 bits each, shown once); any earlier ones stop working."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(codes[-1])))
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        db.select(db.func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def regenerate_recovery_codes(user: User, code: str, address: str) -> list[str]:
    verify(user, code, address, recovery=False)
    codes = new_recovery_codes(user)
    record("auth.mfa_recovery_regenerated", target_of("user", user), actor=user)
    db.session.commit()
    return codes


# --- enrol, reset, disable --------------------------------------------------------------------

def confirm_enrolment(user: User, code: str, address: str) -> list[str]:
    """The first code confirms the secret; returns the recovery codes, shown once."""
    if has_mfa(user):
        raise APIError(409, "two-factor sign-in is already set up", {"mfa": "already enrolled"})
    if secret_of(user) is None:
        raise APIError(400, "start the set-up first", {"code": "no secret being set up"})
    verify(user, code, address, recovery=False)
    user.totp_enabled_at = utcnow()
    codes = new_recovery_codes(user)
    record("auth.mfa_enrolled", target_of("user", user), actor=user)
    db.session.commit()
    return codes


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def reset(actor: User, user: User) -> None:
    """An administrator's reset: the user enrols again at the next sign-in, and every
    session they have ends now (one that passed the old second factor)."""
    if not can_grant(actor.role, user.role):
        raise APIError(403, "you cannot manage an account whose role outranks yours")
    was_enrolled = has_mfa(user)
    _clear(user)
    session_control.end_all(user, "two-factor reset")
    record("auth.mfa_reset", target_of("user", user), actor=actor,
           detail={"was_enrolled": was_enrolled})
    db.session.commit()
    check_sessions_of(user.id)


def disable(user: User, code: str, address: str, roles: Collection[str]) -> None:
    """The user's own switch-off, with a current code; not for roles that require it."""
    if required_for(user, roles):
        raise APIError(403, "your role must use two-factor sign-in", {"mfa": "required for your role"})
    verify(user, code, address, recovery=False)
    _clear(user)
    record("auth.mfa_disabled", target_of("user", user), actor=user)
    db.session.commit()


# --- pending sign-ins -----------------------------------------------------------------------

@dataclass(frozen=True)
class Pending:
    user: User
    enrol: bool


def _in_store(call: Callable[[redis.Redis], Any]) -> Any:
    """One Redis call for a pending sign-in; Redis away is a 503, not a 500."""
    try:
        return call(get_redis())
    except redis.RedisError as exc:
        raise APIError(503, "sign-in is unavailable: the session store does not answer") from exc


def _pending_key(token: str) -> str:
    return PENDING_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def start_pending(user: User) -> str:
    """After a good password: a token for the second step (enrolment if not enrolled)."""
    token = secrets.token_urlsafe(32)
    value = json.dumps({"uid": user.id, "enrol": not has_mfa(user)})
    _in_store(lambda store: store.set(_pending_key(token), value, ex=PENDING_TTL_S))
    return token


def _invalid() -> APIError:
    return APIError(401, "the sign-in has expired or was already used; sign in again",
                    {"mfa_token": "invalid, expired or used"})


def peek_pending(token: object) -> Pending:
    """The pending sign-in this token names, without using it up (a wrong code may be
    retried, throttled, within its five minutes)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise _invalid()
    raw = _in_store(lambda store: store.get(_pending_key(token)))
    if raw is None:
        raise _invalid()
    data = json.loads(raw)
    user = db.session.get(User, int(data["uid"]))
    if user is None or not user.is_active:
        raise _invalid()
    return Pending(user, bool(data["enrol"]))


def consume_pending(token: str) -> None:
    """Use the token up (GETDEL): of two requests finishing with it, one gets a session."""
    raw = _in_store(lambda store: store.getdel(_pending_key(token)))
    if raw is None:
        raise _invalid()


def complete_with_code(token: object, code: str, address: str) -> User:
    """Second step of a sign-in for an enrolled user: the user, or 401/429."""
    pending = peek_pending(token)
    if pending.enrol or not has_mfa(pending.user):
        raise APIError(409, "set up two-factor sign-in first", {"mfa_token": "enrolment pending"})
    verify(pending.user, code, address)
    consume_pending(token)  # type: ignore[arg-type]
    record("auth.mfa_passed", target_of("user", pending.user), actor=pending.user)
    db.session.commit()
    return pending.user


def complete_enrolment(token: object, code: str, address: str) -> tuple[User, list[str]]:
    """Enrolment as the second step of a sign-in: the user and their recovery codes."""
    pending = peek_pending(token)
    if not pending.enrol:
        raise APIError(409, "two-factor sign-in is already set up", {"mfa_token": "already enrolled"})
    codes = confirm_enrolment(pending.user, code, address)
    consume_pending(token)  # type: ignore[arg-type]
    return pending.user, codes
