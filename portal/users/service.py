"""User management and its escalation rules, as plain functions the API, pages and CLI share.

The rules (DESIGN.md): grant only roles whose permissions are a subset of your own,
never change your own role, and never remove, demote or disable the last active admin.
Managing an account whose role outranks yours is refused for the same reason. Every change
is recorded in the audit trail, in its transaction, roles and fields before and after.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from portal.audit.service import changes as audit_changes
from portal.audit.service import record, target_of
from portal.auth.models import ApiToken, User
from portal.auth.passwords import hash_password, password_problem, verify_password
from portal.auth.session_control import end_all as end_sessions
from portal.errors import APIError
from portal.extensions import db
from portal.rbac import can_grant
from portal.realtime.publish import check_sessions_of
from portal.users.schemas import ProfileUpdate, UserCreate, UserUpdate

AUDITED_FIELDS = ("username", "email", "phone", "role", "is_active", "notify_email",
                  "notify_sms", "daily_digest")


def _audited(user: User) -> dict:
    return {name: getattr(user, name) for name in AUDITED_FIELDS}


def serialize_user(user: User, *, online: bool | None = None) -> dict:
    data = {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "phone": user.phone,
        "role": user.role,
        "is_active": user.is_active,
        "notify_email": user.notify_email,
        "notify_sms": user.notify_sms,
        "daily_digest": user.daily_digest,
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
        "last_seen_at": _iso(user.last_seen_at),
        "mfa_enabled": user.totp_enabled_at is not None,
        "source": user.source,
    }
    if online is not None:
        data["online"] = online
    return data


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def username_taken(username: str, *, exclude_id: int | None = None) -> bool:
    query = select(User.id).where(func.lower(User.username) == username.lower())
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return db.session.scalar(query) is not None


def _active_admins() -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(User.role == "admin", User.is_active.is_(True))
    )


def _require_grant(actor: User | None, role: str, field: str = "role") -> None:
    if actor is not None and not can_grant(actor.role, role):
        raise APIError(403, f"you cannot grant the {role} role", {field: "outranks your own role"})


def _require_manageable(actor: User | None, target: User) -> None:
    if actor is not None and not can_grant(actor.role, target.role):
        raise APIError(403, "you cannot manage an account whose role outranks yours",
                       {"role": "outranks your own role"})


def _lock_admins() -> None:
    """Hold the active admins' rows until this transaction ends (PostgreSQL; SQLite locks
    the database at the write instead), so that two admins demoted at once are counted one
    after the other: the second sees the first's change."""
    db.session.execute(select(User.id).where(User.role == "admin", User.is_active.is_(True))
                       .with_for_update())


def _keep_an_admin(field: str, verb: str) -> None:
    """After the change, before the commit: if it left no active admin, undo it. Counted
    inside the transaction that made it, so a concurrent change cannot slip past."""
    db.session.flush()
    if _active_admins() == 0:
        db.session.rollback()
        raise APIError(409, f"the last active admin cannot be {verb}", {field: "last admin"})


def _end_api_tokens(user: User) -> int:
    """A user who loses API access, or is disabled, loses their tokens: they must not work
    again when the role or the account comes back."""
    return db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount


def _require_strong(password: str, field: str, *user_inputs: str | None) -> None:
    """The policy again, now that the account's own name and address are known."""
    problem = password_problem(password, user_inputs)
    if problem:
        raise APIError(400, f"invalid value for {field}: {problem}", {field: problem})


def create_user(actor: User | None, data: UserCreate) -> User:
    """Create an account; ``actor`` None means the operator's CLI, which may grant any role."""
    _require_grant(actor, data.role)
    if username_taken(data.username):
        raise APIError(409, "that username is taken", {"username": "already exists"})
    _require_strong(data.password, "password", data.username, data.email)
    user = User(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        email=data.email,
        phone=data.phone,
        is_active=data.is_active,
        notify_email=data.notify_email,
        notify_sms=data.notify_sms,
        daily_digest=data.daily_digest,
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", target_of("user", user), after=_audited(user), actor=actor)
    db.session.commit()
    return user


DIRECTORY_OWNS = {"role": "set by the account's groups in the directory",
                  "password": "is the directory account's; change it in the directory"}


def _refuse_directory_fields(user: User, fields: dict) -> None:
    """A directory account's role and password are the directory's (auth/directory_accounts.py):
    changed here, the next sign-in or re-check would silently undo them."""
    if user.source != "directory":
        return
    for name, why in DIRECTORY_OWNS.items():
        if name in fields and (name == "password" or fields[name] != user.role):
            raise APIError(400, f"a directory account's {name} {why}", {name: why})


def update_user(actor: User, user: User, changes: UserUpdate) -> User:
    fields = changes.model_dump(exclude_unset=True)
    _require_manageable(actor, user)
    _refuse_directory_fields(user, fields)
    if "password" in fields and user.id == actor.id:
        raise APIError(403, "change your own password on your profile, with the current one",
                       {"password": "is your own"})
    demoted = "role" in fields and fields["role"] != user.role
    disabled = fields.get("is_active") is False and user.is_active
    if demoted:
        if user.id == actor.id:
            raise APIError(403, "you cannot change your own role", {"role": "is your own"})
        _require_grant(actor, fields["role"])
    if disabled and user.id == actor.id:
        raise APIError(403, "you cannot disable your own account", {"is_active": "is yours"})
    guard = user.role == "admin" and user.is_active and (demoted or disabled)
    if guard:
        _lock_admins()
        db.session.refresh(user)  # as it is now that the admins are held
    had_api = user.can("api.access")
    before = _audited(user)
    password = fields.pop("password", None)
    if password is not None:
        _require_strong(password, "password", fields.get("username", user.username),
                        fields.get("email", user.email))
        user.set_password(hash_password(password))
    for key, value in fields.items():
        setattr(user, key, value)
    if guard:
        _keep_an_admin("role" if demoted else "is_active", "demoted" if demoted else "disabled")
    tokens_ended = 0
    if (had_api and not user.can("api.access")) or disabled:
        tokens_ended = _end_api_tokens(user)
    if password is not None or disabled or demoted:  # every session of the account ends
        end_sessions(user, "password reset" if password is not None
                     else "account disabled" if disabled else "role changed")
    _check_sms_has_phone(user)
    target = target_of("user", user)
    if password is not None:
        record("user.password_reset", target, actor=actor, detail={"sessions_ended": True})
    old, new = audit_changes(before, _audited(user))
    if new:
        enabled = fields.get("is_active") is True and not before["is_active"]
        action = "user.disabled" if disabled else "user.enabled" if enabled else "user.updated"
        record(action, target, before=old, after=new, actor=actor,
               detail={"api_tokens_ended": tokens_ended} if tokens_ended else None)
    db.session.commit()
    if password is not None or disabled or demoted:
        check_sessions_of(user.id)  # open WebSockets close now, not at their next check
    return user


def update_profile(user: User, changes: ProfileUpdate) -> User:
    fields = changes.model_dump(exclude_unset=True)
    current = fields.pop("current_password", None)
    new = fields.pop("new_password", None)
    if new is not None and user.source == "directory":
        raise APIError(400, "your password is your directory account's: change it there "
                            "(for Windows accounts, Ctrl+Alt+Del, Change a password)",
                       {"new_password": "is the directory account's"})
    if new is not None:
        if not current or not verify_password(user.password_hash, current):
            raise APIError(400, "the current password is wrong",
                           {"current_password": "does not match"})
        _require_strong(new, "new_password", user.username, fields.get("email", user.email))
        user.set_password(hash_password(new))
        end_sessions(user, "password changed")  # the caller starts the one asking anew
    before = _audited(user)
    for key, value in fields.items():
        setattr(user, key, value)
    _check_sms_has_phone(user)
    target = target_of("user", user)
    if new is not None:
        record("auth.password_changed", target, actor=user, detail={"sessions_ended": True})
    old, changed = audit_changes(before, _audited(user))
    if changed:
        record("user.profile_updated", target, before=old, after=changed, actor=user)
    db.session.commit()
    if new is not None:
        check_sessions_of(user.id)
    return user


def _check_sms_has_phone(user: User) -> None:
    if user.notify_sms and not user.phone:
        db.session.rollback()
        raise APIError(400, "SMS notifications need a phone number", {"phone": "is required"})


def delete_user(actor: User, user: User) -> None:
    _require_manageable(actor, user)
    if user.id == actor.id:
        raise APIError(403, "you cannot delete your own account", {"id": "is yours"})
    guard = user.role == "admin" and user.is_active
    if guard:
        _lock_admins()
    target, before = target_of("user", user), _audited(user)
    db.session.delete(user)
    if guard:
        _keep_an_admin("id", "removed")
    record("user.deleted", target, before=before, actor=actor)
    db.session.commit()
    check_sessions_of(int(target.id))
