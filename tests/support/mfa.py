"""Two-factor sign-in for tests: turn the role requirement on, enrol a user, codes at a time."""

from __future__ import annotations

import pyotp

from portal.auth import mfa
from portal.auth.models import User
from portal.settings.service import update_settings

T0 = 1_900_000_020.0  # a step boundary (divisible by 30), so offsets are whole steps


def require_for(*roles: str) -> None:
    update_settings({"mfa_required_roles": list(roles)}, None)


def code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


def enrol(user: User, at: float = T0) -> tuple[str, list[str]]:
    """Enrol through the service as the enrolment page does; the secret and recovery codes.
    Uses the step before ``at``, so a test's code at ``at`` is still unused."""
    secret = mfa.begin_enrolment(user)
    codes = mfa.confirm_enrolment(user, code(secret, at - 30), "127.0.0.9")
    return secret, codes
