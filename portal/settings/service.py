"""Run-time settings: typed, validated, with defaults, persisted one row per key."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field, ValidationError, model_validator

from portal.audit.service import Target, record
from portal.audit.service import changes as audit_changes
from portal.auth import session_control
from portal.auth.models import User
from portal.errors import validation_error
from portal.extensions import db
from portal.rbac import ROLES
from portal.schemas import Strict
from portal.settings.models import Setting, stored_values


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not an IANA time zone such as Africa/Kampala") from None
    return value


def _optional_url(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


class SettingsData(Strict):
    timezone: Annotated[str, AfterValidator(_timezone)] = "Africa/Kampala"
    grafana_url: Annotated[str | None, AfterValidator(_optional_url)] = None
    notify_roles: list[Literal[ROLES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["admin", "it_staff"]
    )
    notify_email: bool = True
    notify_sms: bool = True
    notify_on_resolve: bool = True
    probe_interval_s: int = Field(30, ge=10, le=3600)
    probe_timeout_s: int = Field(10, ge=1, le=60)
    # Flapping (portal/incidents/flapping.py): this many state changes within the window
    # make a server flapping; it settles once up and unchanged for flap_settle_min.
    flap_changes: int = Field(5, ge=3, le=50)
    flap_window_min: int = Field(10, ge=1, le=120)
    flap_settle_min: int = Field(5, ge=1, le=120)
    # Storm digests (portal/notify/digest.py): after a page, a recipient's next pages of
    # the same kind and channel gather for this long and go as one message; 0 sends each.
    gather_window_s: int = Field(30, ge=0, le=600)
    # The daily digest (portal/reports/digest.py): sent by the worker once this hour has
    # begun in the configured zone, to the users who opted in (users.daily_digest).
    digest_hour: int = Field(7, ge=0, le=23)
    # Escalation (portal/incidents/escalation.py): a critical incident nobody acknowledged
    # this long after its page pages tier 2 (these roles and the server's tier-2 contacts),
    # twice this long tier 3; 0 never escalates. A server may set its own.
    escalate_after_min: int = Field(15, ge=0, le=1440)
    escalate_tier2_roles: list[Literal[ROLES]] = Field(default_factory=list)  # type: ignore[valid-type]
    escalate_tier3_roles: list[Literal[ROLES]] = Field(default_factory=list)  # type: ignore[valid-type]
    # Audit retention (portal/jobs/periodic.py): rows older than this many days are
    # deleted, and the chain still verifies from the first row kept.
    audit_retention_days: int = Field(400, ge=30, le=3650)
    # Two-factor sign-in (portal/auth/mfa.py): people of these roles must enrol before
    # they get a session. On for the roles holding every permission unless turned off.
    mfa_required_roles: list[Literal[ROLES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["admin", "developer"]
    )
    # Sign-in sessions (portal/auth/session_control.py, which reads these two itself): a
    # session unused this long ends, and none lasts longer than this from its sign-in
    # (nor than REFRESH_TOKEN_HOURS, the refresh token's lifetime).
    session_idle_minutes: int = Field(session_control.IDLE_MINUTES, ge=session_control.IDLE_RANGE[0],
                                      le=session_control.IDLE_RANGE[1])
    session_lifetime_hours: int = Field(session_control.LIFETIME_HOURS,
                                        ge=session_control.LIFETIME_RANGE[0],
                                        le=session_control.LIFETIME_RANGE[1])
    # Directory accounts (portal/auth/service.py reads it from its row): with LDAP_URL set,
    # only administrators may sign in with a local account (the break-glass one).
    local_sign_in_admins_only: bool = False

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> SettingsData:
        if self.probe_timeout_s >= self.probe_interval_s:
            raise ValueError("probe_timeout_s: must be shorter than probe_interval_s")
        return self


def timezone_choices() -> list[str]:
    return sorted(available_timezones())


def load_settings() -> SettingsData:
    known = {k: v for k, v in stored_values().items() if k in SettingsData.model_fields}
    try:
        return SettingsData.model_validate(known)
    except ValidationError:
        return SettingsData()


def update_settings(changes: dict, actor: User | None) -> SettingsData:
    """Validate the merged result as a whole, then persist only the keys that changed."""
    current = load_settings().model_dump()
    merged = {**current, **changes}
    try:
        validated = SettingsData.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    for key, value in validated.model_dump().items():
        if key not in changes:
            continue
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value, updated_by_id=actor.id if actor else None))
        else:
            row.value = value
            row.updated_by_id = actor.id if actor else None
    old, new = audit_changes(current, validated.model_dump())
    if new:
        record("settings.updated", Target("settings", None, "settings"), before=old, after=new,
               actor=actor)
    db.session.commit()
    session_control.forget_limits()
    return validated
