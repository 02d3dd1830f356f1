"""The TOTP logic (portal/auth/mfa.py) on a clock the test sets: the window, replay refusal,
recovery codes, the stored secret, pending sign-in tokens."""

from __future__ import annotations

import time

import pytest

from portal.audit.models import AuditEvent
from portal.auth import mfa, session_control
from portal.auth.models import RecoveryCode, SignInSession
from portal.errors import APIError
from portal.extensions import db
from tests.factories import make_user
from tests.support.mfa import T0, code, enrol

ADDR = "10.0.0.7"


@pytest.fixture
def clock(monkeypatch):
    now = {"t": T0}
    monkeypatch.setattr(mfa, "now", lambda: now["t"])
    return now


def _actions() -> list[str]:
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def test_enrolment_stores_the_secret_encrypted_and_audits(app, clock):
    user = make_user("developer")
    secret, codes = enrol(user)
    assert user.totp_enabled_at is not None
    assert secret not in (user.totp_secret or "") and mfa.secret_of(user) == secret
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert "auth.mfa_enrolled" in _actions()


def test_a_wrong_first_code_does_not_enrol(app, clock):
    user = make_user("developer")
    secret = mfa.begin_enrolment(user)
    with pytest.raises(APIError) as refused:
        mfa.confirm_enrolment(user, "000000" if code(secret, T0) != "000000" else "111111", ADDR)
    assert refused.value.status == 401 and user.totp_enabled_at is None
    assert "auth.mfa_failed" in _actions()


@pytest.mark.parametrize(("offset", "ok"), [(-60, False), (-30, True), (0, True), (30, True), (60, False)])
def test_a_code_one_step_either_side_is_accepted_two_are_not(app, clock, offset, ok):
    user = make_user("it_staff")
    clock["t"] = T0 - 120
    secret, _ = enrol(user, at=T0 - 120)
    clock["t"] = T0
    assert mfa.check_totp(user, code(secret, T0 + offset)) is ok


def test_a_code_works_once(app, clock):
    user = make_user("it_staff")
    secret, _ = enrol(user)
    assert mfa.check_totp(user, code(secret, T0))
    assert not mfa.check_totp(user, code(secret, T0))
    # nor an older step once a newer one was used
    clock["t"] = T0 + 30
    assert mfa.check_totp(user, code(secret, T0 + 30))
    assert not mfa.check_totp(user, code(secret, T0))


def test_a_recovery_code_works_once_and_is_audited(app, clock):
    user = make_user("it_staff")
    _, codes = enrol(user)
    mfa.verify(user, codes[3].upper(), ADDR)
    with pytest.raises(APIError):
        mfa.verify(user, codes[3], ADDR)
    assert mfa.recovery_codes_left(user) == 9
    assert _actions().count("auth.mfa_recovery_used") == 1


def test_new_recovery_codes_need_a_current_code_and_replace_the_old(app, clock):
    user = make_user("it_staff")
    secret, old = enrol(user)
    with pytest.raises(APIError):
        mfa.regenerate_recovery_codes(user, old[0], ADDR)  # a recovery code is not enough
    new = mfa.regenerate_recovery_codes(user, code(secret, T0), ADDR)
    assert not mfa.use_recovery_code(user, old[1])
    assert mfa.use_recovery_code(user, new[0])


def test_a_pending_token_is_single_use(app, clock):
    user = make_user("it_staff")
    secret, _ = enrol(user)
    token = mfa.start_pending(user)
    assert mfa.complete_with_code(token, code(secret, T0), ADDR).id == user.id
    with pytest.raises(APIError) as refused:
        mfa.complete_with_code(token, code(secret, T0 + 30), ADDR)
    assert refused.value.status == 401 and "mfa_token" in refused.value.details
    with pytest.raises(APIError):
        mfa.peek_pending("not-a-token-of-ours-at-all-0123456789")


def test_fresh_second_factor_is_needed_only_where_2fa_applies(app, clock):
    plain, enrolled = make_user("it_staff"), make_user("it_staff")
    enrol(enrolled)
    assert mfa.is_fresh(plain, None, [])
    assert not mfa.is_fresh(plain, None, ["it_staff"])
    assert not mfa.is_fresh(enrolled, None, [])
    assert mfa.is_fresh(enrolled, time.time() - 60, [])
    assert not mfa.is_fresh(enrolled, time.time() - mfa.FRESH_S - 1, [])


def test_a_reset_forgets_the_secret_and_ends_sessions(app, clock):
    admin, user = make_user("admin"), make_user("it_staff")
    enrol(user)
    sid = session_control.start(user.id, session_control.Device("Firefox", "10.1.2.3"))
    mfa.reset(admin, user)
    assert user.totp_secret is None and user.totp_enabled_at is None
    assert mfa.recovery_codes_left(user) == 0
    row = db.session.get(SignInSession, sid)
    assert row.ended_at is not None and row.ended_reason == "two-factor reset"
    assert session_control.refusal(row) == "session ended (two-factor reset); sign in again"
    assert "auth.mfa_reset" in _actions()


def test_the_qr_code_is_an_inline_svg_of_the_otpauth_uri(app):
    user = make_user("it_staff")
    secret = mfa.begin_enrolment(user)
    uri = mfa.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/") and secret in uri
    assert mfa.qr_svg(uri).startswith("<svg")
