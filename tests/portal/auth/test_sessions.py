"""Refresh, logout revocation, cookies with CSRF, and accounts that change under a session."""

import time
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask import current_app
from flask_jwt_extended import create_access_token, decode_token

from portal.extensions import db
from tests.factories import PASSWORD, login, make_user


def _login_json(client, user):
    response = client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    return response.get_json()


def test_refresh_with_a_bearer_refresh_token_gives_a_working_access_token(client):
    tokens = _login_json(client, make_user())
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("refresh_token_cookie")
    response = client.post("/api/auth/refresh",
                           headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert response.status_code == 200
    fresh = response.get_json()["access_token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200


def test_an_access_token_cannot_be_used_to_refresh(client):
    tokens = _login_json(client, make_user())
    client.delete_cookie("refresh_token_cookie")
    response = client.post("/api/auth/refresh",
                           headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 401


def test_logout_revokes_both_access_and_refresh_tokens(client):
    tokens = _login_json(client, make_user())
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("refresh_token_cookie")
    assert client.post("/api/auth/logout", headers=access).status_code == 200
    assert client.get("/api/auth/me", headers=access).status_code == 401
    assert client.post("/api/auth/refresh", headers=refresh).status_code == 401


def test_revocation_lives_in_redis_for_the_tokens_remaining_lifetime(client, app):
    from portal.redis_client import get_redis

    tokens = _login_json(client, make_user())
    claims = decode_token(tokens["access_token"])
    client.post("/api/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    ttl = get_redis().ttl(f"jwt:revoked:{claims['jti']}")
    assert 0 < ttl <= claims["exp"] - int(time.time()) + 1
    assert get_redis().ttl(f"jwt:revoked:{claims['rjti']}") > ttl


def test_cookie_sessions_need_the_csrf_header_for_writes(client):
    _login_json(client, make_user())
    assert client.get("/api/auth/me").status_code == 200
    without = client.patch("/api/auth/me", json={"notify_email": False})
    assert without.status_code == 403
    assert "CSRF" in without.get_json()["error"]
    csrf = client.get_cookie("csrf_access_token").value
    with_header = client.patch("/api/auth/me", json={"notify_email": False},
                               headers={"X-CSRF-TOKEN": csrf})
    assert with_header.status_code == 200


def test_cookie_logout_closes_the_session(client):
    _login_json(client, make_user())
    csrf = client.get_cookie("csrf_access_token").value
    old_access = client.get_cookie("access_token_cookie").value
    assert client.post("/api/auth/logout", headers={"X-CSRF-TOKEN": csrf}).status_code == 200
    client.set_cookie("access_token_cookie", old_access)
    assert client.get("/api/auth/me").status_code == 401


def test_an_access_cookie_near_expiry_is_replaced_implicitly(client, app):
    user = make_user()
    tokens = _login_json(client, user)
    claims = decode_token(tokens["access_token"])
    nearly_expired = create_access_token(
        identity=str(user.id), expires_delta=timedelta(seconds=60),
        additional_claims={"rjti": claims["rjti"], "rexp": claims["rexp"],
                           "siat": claims["siat"], "sid": claims["sid"]},
    )
    client.set_cookie("access_token_cookie", nearly_expired)
    response = client.get("/api/auth/me")
    assert response.status_code == 200
    replaced = [c for c in response.headers.getlist("Set-Cookie")
                if c.startswith("access_token_cookie=")]
    assert replaced and nearly_expired not in replaced[0]


def _near_expiry_cookie(client, user, session_left_s: float) -> str:
    """An access cookie a minute from expiry, in a session (refresh token) that ends
    ``session_left_s`` from now."""
    claims = decode_token(_login_json(client, user)["access_token"])
    token = create_access_token(
        identity=str(user.id), expires_delta=timedelta(seconds=60),
        additional_claims={"rjti": claims["rjti"], "rexp": int(time.time() + session_left_s),
                           "siat": claims["siat"], "sid": claims["sid"]},
    )
    client.set_cookie("access_token_cookie", token)
    return token


def _replaced_access(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie")
            if c.startswith("access_token_cookie=")]


def test_a_session_past_its_refresh_lifetime_is_not_renewed(client):
    """A page open for days kept the session going by renewing its access cookie near
    expiry: the session ends at the refresh token's expiry (REFRESH_TOKEN_HOURS), however
    busy the page."""
    _near_expiry_cookie(client, make_user(), session_left_s=-5)
    response = client.get("/api/auth/me")
    assert response.status_code == 200  # the access token itself is still valid
    assert _replaced_access(response) == []


def test_a_renewed_access_cookie_ends_with_its_session(client, app):
    _near_expiry_cookie(client, make_user(), session_left_s=20)
    response = client.get("/api/auth/me")
    [cookie] = _replaced_access(response)
    token = cookie.split(";")[0].split("=", 1)[1]
    claims = decode_token(token)
    assert claims["exp"] <= claims["rexp"]


def test_a_disabled_user_cannot_sign_in_and_live_tokens_stop(client):
    user = make_user("it_staff")
    headers = login(client, user)
    user.is_active = False
    db.session.commit()
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    response = client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 401


def test_a_role_change_applies_to_live_tokens_at_once(client):
    user = make_user("it_staff")
    headers = login(client, user)
    assert client.get("/api/users", headers=headers).status_code == 200
    user.role = "flexipay_support"
    db.session.commit()
    assert client.get("/api/users", headers=headers).status_code == 403


def test_login_records_last_login(client):
    user = make_user()
    assert user.last_login_at is None
    login(client, user)
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_login_rejects_a_body_that_is_not_an_object(client):
    response = client.post("/api/auth/login", data="nonsense", content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.get_json()["details"]
    missing = client.post("/api/auth/login", json={"username": "x"})
    assert missing.status_code == 400
    assert "password" in missing.get_json()["details"]


def test_a_password_change_ends_every_other_session(client):
    user = make_user("it_staff")
    other_device = _login_json(client, user)
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("refresh_token_cookie")
    this_device = {"Authorization": f"Bearer {_login_json(client, user)['access_token']}"}
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("refresh_token_cookie")
    changed = client.patch("/api/auth/me", headers=this_device, json={
        "current_password": PASSWORD, "new_password": "a-brand-new-password"})
    assert changed.status_code == 200
    new_access = {"Authorization": f"Bearer {changed.get_json()['access_token']}"}
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("refresh_token_cookie")
    old = {"Authorization": f"Bearer {other_device['access_token']}"}
    old_refresh = {"Authorization": f"Bearer {other_device['refresh_token']}"}
    assert client.get("/api/auth/me", headers=old).status_code == 401
    assert client.post("/api/auth/refresh", headers=old_refresh).status_code == 401
    assert client.get("/api/auth/me", headers=this_device).status_code == 401
    assert client.get("/api/auth/me", headers=new_access).status_code == 200


def test_an_admin_password_reset_ends_the_users_sessions(client):
    user = make_user("flexipay_support")
    theirs = {"Authorization": f"Bearer {_login_json(client, user)['access_token']}"}
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("refresh_token_cookie")
    admin = login(client, make_user("admin"))
    client.patch(f"/api/users/{user.id}", headers=admin, json={"password": "reset-by-admin-1"})
    assert client.get("/api/auth/me", headers=theirs).status_code == 401


@pytest.mark.parametrize("drop", ["rjti", "rexp", "siat", "sid", "jti"])
def test_a_validly_signed_token_missing_a_claim_is_refused_not_a_500(client, drop):
    """A token signed with the key but not minted by the sign-in (a leaked key, a tool)."""
    user = make_user()
    claims = decode_token(_login_json(client, user)["access_token"])
    extra = {"rjti": claims["rjti"], "rexp": claims["rexp"], "siat": claims["siat"], "sid": claims["sid"]}
    extra.pop(drop, None)
    token = create_access_token(identity=str(user.id), additional_claims=extra)
    if drop == "jti":
        token = _without_jti(token)
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.get_json()
    client.set_cookie("access_token_cookie", token)
    assert client.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize("subject", ["²", "0", "1" * 30, "admin"])
def test_a_signed_token_whose_subject_is_no_user_id_is_refused(client, subject):
    claims = decode_token(_login_json(client, make_user())["access_token"])
    token = create_access_token(identity=subject, additional_claims={
        "rjti": claims["rjti"], "rexp": claims["rexp"], "siat": claims["siat"], "sid": claims["sid"]})
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.get_json()


def _without_jti(token: str) -> str:
    """The same claims re-signed without a jti (flask-jwt-extended always adds one)."""
    claims = pyjwt.decode(token, options={"verify_signature": False})
    claims.pop("jti")
    return pyjwt.encode(claims, current_app.config["JWT_SECRET_KEY"], algorithm="HS256")


def test_logout_ends_every_access_token_of_the_session_not_only_the_one_used(client):
    """Before: an access token minted by a refresh answered 200 for up to 15 minutes after
    signing out with another one."""
    tokens = _login_json(client, make_user())
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("refresh_token_cookie")
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    sibling = client.post("/api/auth/refresh", headers=refresh).get_json()["access_token"]
    sibling_header = {"Authorization": f"Bearer {sibling}"}
    assert client.get("/api/auth/me", headers=sibling_header).status_code == 200
    first = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.post("/api/auth/logout", headers=first).status_code == 200
    assert client.get("/api/auth/me", headers=sibling_header).status_code == 401
