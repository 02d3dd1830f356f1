"""The profile page: own contact details, password, and personal API tokens."""

import pytest
from sqlalchemy import select

from portal.auth.models import ApiToken
from portal.auth.passwords import verify_password
from portal.extensions import db
from portal.rbac import ROLES
from tests.factories import PASSWORD
from tests.support.pages import post_form, sign_in


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 302 and "/login?next=/profile" in response.location


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_profile(client, role):
    user = sign_in(client, role)
    response = client.get("/profile")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert user.email in html
    assert ("Personal API tokens" in html) is (role in ("admin", "developer"))


def test_saving_contact_details_and_opt_ins(client):
    user = sign_in(client, "flexipay_support")
    response = post_form(client, "/profile", {"email": "me@bank.example", "phone": "+256 700 123456",
                                              "notify_sms": "on"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.email, user.phone) == ("me@bank.example", "+256700123456")
    assert user.notify_sms and not user.notify_email


def test_a_bad_email_is_a_field_error(client):
    user = sign_in(client)
    response = post_form(client, "/profile", {"email": "not-an-address", "notify_email": "on"})
    assert response.status_code == 400
    assert 'data-field-error="email"' in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email != "not-an-address"


def test_changing_the_password_needs_the_current_one(client):
    user = sign_in(client)
    wrong = post_form(client, "/profile/password", {
        "current_password": "guess", "new_password": "brand-new-password",
        "confirm_password": "brand-new-password"})
    assert wrong.status_code == 400
    assert 'data-field-error="current_password"' in wrong.get_data(as_text=True)
    mismatch = post_form(client, "/profile/password", {
        "current_password": PASSWORD, "new_password": "brand-new-password",
        "confirm_password": "brand-new-passwort"})
    assert mismatch.status_code == 400
    assert 'data-field-error="confirm_password"' in mismatch.get_data(as_text=True)
    ok = post_form(client, "/profile/password", {
        "current_password": PASSWORD, "new_password": "brand-new-password",
        "confirm_password": "brand-new-password"})
    assert ok.status_code == 302
    db.session.refresh(user)
    assert verify_password(user.password_hash, "brand-new-password")


def test_a_new_token_is_shown_once(client):
    sign_in(client, "developer")
    response = post_form(client, "/profile/tokens", {"name": "nightly <report>", "expires_in_days": "30"})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    token = db.session.scalar(select(ApiToken))
    secret = html.split('data-testid="new-token-value"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert secret.startswith(token.prefix) and len(secret) > 30
    assert "nightly &lt;report&gt;" in html
    assert response.headers["Cache-Control"] == "no-store"
    # The token works for the API, and the page never shows it again.
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    later = client.get("/profile").get_data(as_text=True)
    assert secret not in later and token.prefix in later
    assert token.expires_at is not None


def test_a_token_without_a_name_is_a_field_error(client):
    sign_in(client, "admin")
    response = post_form(client, "/profile/tokens", {"name": "", "expires_in_days": "0"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="name"' in html and 'data-field-error="expires_in_days"' in html
    assert db.session.scalar(select(ApiToken)) is None


def test_revoking_a_token(client):
    sign_in(client, "admin")
    post_form(client, "/profile/tokens", {"name": "temp"})
    token = db.session.scalar(select(ApiToken))
    response = post_form(client, f"/profile/tokens/{token.id}/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken)) is None


def test_roles_without_api_access_cannot_create_tokens(client):
    sign_in(client, "it_staff")
    response = post_form(client, "/profile/tokens", {"name": "sneaky"})
    assert response.status_code == 403
    assert db.session.scalar(select(ApiToken)) is None
