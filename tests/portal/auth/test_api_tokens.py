"""Personal API tokens: shown once, stored hashed, usable as bearer, revocable."""

import hashlib

from portal.auth.models import ApiToken
from portal.extensions import db
from tests.factories import login, make_user


def _create(client, headers, **body):
    response = client.post("/api/tokens", json={"name": "ci", **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_token_is_shown_once_and_stored_as_a_digest(client):
    headers = login(client, make_user("developer"))
    created = _create(client, headers)
    secret = created["token"]
    stored = db.session.get(ApiToken, created["id"])
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.token_hash
    listed = client.get("/api/tokens", headers=headers).get_json()["items"]
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0] and listed[0]["prefix"] == secret[:12]


def test_a_token_works_as_a_bearer_and_records_last_use(client):
    user = make_user("developer")
    secret = _create(client, login(client, user))["token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["username"] == user.username
    assert db.session.scalar(db.select(ApiToken)).last_used_at is not None


def test_a_revoked_token_stops_working(client):
    headers = login(client, make_user("admin"))
    created = _create(client, headers)
    assert client.delete(f"/api/tokens/{created['id']}", headers=headers).status_code == 204
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/auth/me", headers=bearer).status_code == 401


def test_users_cannot_see_or_revoke_each_others_tokens(client):
    mine = _create(client, login(client, make_user("developer")))
    other = login(client, make_user("developer"))
    assert client.get("/api/tokens", headers=other).get_json()["items"] == []
    assert client.delete(f"/api/tokens/{mine['id']}", headers=other).status_code == 404


def test_a_token_stops_working_when_its_owner_loses_api_access(client):
    user = make_user("developer")
    secret = _create(client, login(client, user))["token"]
    user.role = "it_staff"
    db.session.commit()
    assert client.get("/api/auth/me",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_an_unknown_token_is_refused(client):
    bearer = {"Authorization": "Bearer smt_not-a-real-token"}
    assert client.get("/api/auth/me", headers=bearer).status_code == 401


def test_expiry_is_validated(client):
    headers = login(client, make_user("developer"))
    response = client.post("/api/tokens", json={"name": "x", "expires_in_days": 0},
                           headers=headers)
    assert response.status_code == 400 and "expires_in_days" in response.get_json()["details"]
    assert _create(client, headers, expires_in_days=30)["expires_at"] is not None
