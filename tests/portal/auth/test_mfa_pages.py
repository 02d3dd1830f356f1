"""The login's second step, enrolment at sign-in and from the profile, and the admin's
reset button, driven through the forms as a browser would."""

from __future__ import annotations

import re

import pytest

from portal.audit.models import AuditEvent
from portal.auth import mfa
from portal.errors import APIError
from portal.extensions import db
from tests.factories import PASSWORD, make_user
from tests.support.mfa import T0, code, enrol, require_for
from tests.support.pages import post_form
from tests.support.pages import sign_in as password_sign_in


@pytest.fixture
def clock(monkeypatch):
    now = {"t": T0}
    monkeypatch.setattr(mfa, "now", lambda: now["t"])
    return now


def _password(client, user, next_url="/dashboard"):
    return client.post(f"/login?next={next_url}", data={"username": user.username, "password": PASSWORD})


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


def _has_session(client) -> bool:
    return client.get_cookie(client.application.config["JWT_ACCESS_COOKIE_NAME"]) is not None


def test_the_password_leads_to_a_code_form_then_the_dashboard(client, clock):
    user = make_user("it_staff")
    secret, _ = enrol(user)
    first = _password(client, user)
    assert first.status_code == 200 and b'data-testid="code-form"' in first.data
    assert not _has_session(client)
    assert client.get("/dashboard").status_code == 302
    token = _hidden(first.get_data(as_text=True), "mfa_token")
    wrong = client.post("/login/code", data={"mfa_token": token, "code": "12345x", "next": "/dashboard"})
    assert wrong.status_code == 401 and not _has_session(client)
    done = client.post("/login/code", data={"mfa_token": token, "code": code(secret, T0),
                                            "next": "/dashboard"})
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_an_admin_without_2fa_must_enrol_before_anything_else(client, clock):
    require_for("admin")
    admin = make_user("admin")
    first = _password(client, admin)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and 'data-testid="enrol-form"' in html and "<svg" in html
    assert not _has_session(client)
    assert client.get("/dashboard").status_code == 302
    assert client.get("/api/servers").status_code == 401
    secret = re.search(r'data-testid="mfa-secret">([A-Z2-7]+)<', html).group(1)
    token = _hidden(html, "mfa_token")
    done = client.post("/login/enrol", data={"mfa_token": token, "code": code(secret, T0),
                                             "next": "/dashboard"})
    assert done.status_code == 200 and b'data-testid="recovery-codes"' in done.data
    assert _has_session(client) and client.get("/dashboard").status_code == 200
    db.session.refresh(admin)
    assert admin.totp_enabled_at is not None
    # the token is used up: it cannot enrol or sign in again
    assert client.post("/login/enrol", data={"mfa_token": token, "code": code(secret, T0 + 30)}
                       ).status_code == 401


def test_a_second_step_from_another_site_is_refused(client):
    response = client.post("/login/code", data={"mfa_token": "x" * 40, "code": "123456"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_enrolment_from_the_profile_and_fresh_2fa_for_tokens(client, clock):
    user = password_sign_in(client, "developer")
    page = client.get("/profile")
    assert b'data-testid="mfa-off"' in page.data
    enrol_page = client.get("/profile/mfa").get_data(as_text=True)
    secret = re.search(r'data-testid="mfa-secret">([A-Z2-7]+)<', enrol_page).group(1)
    done = post_form(client, "/profile/mfa", {"code": code(secret, T0)})
    assert done.status_code == 200 and b'data-testid="recovery-codes"' in done.data
    assert b'data-testid="mfa-on"' in client.get("/profile").data
    # enrolling counts as a fresh second factor: a token can be made now
    assert post_form(client, "/profile/tokens", {"name": "ci"}).status_code == 201
    client.post("/logout", data={"csrf_token": client.get_cookie(
        client.application.config["JWT_ACCESS_CSRF_COOKIE_NAME"]).value})
    db.session.refresh(user)
    assert mfa.has_mfa(user)


def test_a_session_without_a_recent_code_cannot_make_tokens_on_the_profile(client, clock):
    user = password_sign_in(client, "developer")  # password only, then enrolled elsewhere
    enrol(user)
    refused = post_form(client, "/profile/tokens", {"name": "ci"})
    assert refused.status_code == 403 and b"two-factor sign-in within the last" in refused.data


def test_recovery_codes_can_be_regenerated_with_a_current_code(client, clock):
    user = make_user("it_staff")
    secret, old = enrol(user)
    first = _password(client, user)
    client.post("/login/code", data={"mfa_token": _hidden(first.get_data(as_text=True), "mfa_token"),
                                     "code": old[0]})
    assert _has_session(client)
    clock["t"] = T0 + 30
    fresh = post_form(client, "/profile/mfa/recovery-codes", {"code": code(secret, T0 + 30)})
    assert fresh.status_code == 200 and b'data-testid="recovery-codes"' in fresh.data
    assert not mfa.use_recovery_code(user, old[1])


def test_the_admin_reset_button_resets_and_audits(client, clock):
    target = make_user("it_staff")
    enrol(target)
    password_sign_in(client, "admin")
    assert b'data-testid="mfa-reset"' in client.get(f"/admin/users/{target.id}/edit").data
    response = post_form(client, f"/admin/users/{target.id}/mfa/reset")
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.totp_enabled_at is None
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "auth.mfa_reset"))


def test_the_settings_page_saves_the_required_roles(client):
    password_sign_in(client, "admin")
    page = client.get("/settings")
    assert b'id="f-mfa_required_roles-admin"' in page.data


def test_a_user_switches_it_off_with_a_code_unless_the_role_requires_it(client, clock):
    user = password_sign_in(client, "it_staff")
    secret, _ = enrol(user)
    wrong = post_form(client, "/profile/mfa/disable", {"code": "000000"})
    assert wrong.status_code == 302 and mfa.has_mfa(user)
    clock["t"] = T0 + 30
    off = post_form(client, "/profile/mfa/disable", {"code": code(secret, T0 + 30)})
    assert off.status_code == 302
    db.session.refresh(user)
    assert not mfa.has_mfa(user) and not mfa.recovery_codes_left(user)
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "auth.mfa_disabled"))

    admin = make_user("admin", username="required.admin")
    secret, _ = enrol(admin, at=clock["t"])
    require_for("admin")
    with pytest.raises(APIError) as refused:
        mfa.disable(admin, code(secret, T0 + 60), "127.0.0.9", ["admin"])
    assert refused.value.status == 403 and mfa.has_mfa(admin)
