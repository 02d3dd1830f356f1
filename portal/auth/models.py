"""Staff accounts and their personal API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.rbac import permissions_of


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    # The daily e-mail digest (portal/reports/digest.py): opt-in.
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "tiles" or "fleet" once the user has chosen on the dashboard; None: the screen decides.
    dashboard_view: Mapped[str | None] = mapped_column(String(8))
    # Two-factor sign-in (portal/auth/mfa.py): the TOTP secret, Fernet-encrypted with a key
    # derived from the app's secret key; set while enrolling, enabled once a first code
    # confirmed it. The last time step used refuses a code the second time.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Where the account comes from: "local" (password here) or "directory" (LDAP / AD,
    # portal/auth/directory_accounts.py: name, e-mail, phone and role are the directory's).
    source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    directory_dn: Mapped[str | None] = mapped_column(String(512))
    # When the directory was last read for this account (sign-in or the worker's re-check),
    # and when that reading disabled it (no mapped group, or gone): such an account comes
    # back at its next sign-in with a group, one an administrator disabled does not.
    directory_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    directory_disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def permissions(self) -> frozenset[str]:
        return permissions_of(self.role)

    def can(self, key: str) -> bool:
        return key in self.permissions

    def set_password(self, password_hash: str) -> None:
        """Callers end the account's sessions (session_control.end_all) in the same
        transaction: a session row is the one record of whether a sign-in still holds."""
        self.password_hash = password_hash


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is kept, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class RecoveryCode(db.Model):
    """A single-use two-factor recovery code; only its SHA-256 is kept (see auth/mfa.py)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInSession(db.Model):
    """One sign-in and every JWT minted from it (claim ``sid``); see auth/session_control.py.
    Looked up by its key on every request, so ending the row ends the session at once."""

    __tablename__ = "sign_in_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(32))
