from tests.factories import PASSWORD, login, make_user


def test_it_returns_tokens_and_sets_cookies(client):
    user = make_user("it_staff")
    response = client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["access_token"] and body["refresh_token"]
    assert body["user"]["role"] == "it_staff"
    cookies = response.headers.getlist("Set-Cookie")
    access = next(c for c in cookies if c.startswith("access_token_cookie="))
    assert "HttpOnly" in access and "SameSite=Lax" in access
    assert any(c.startswith("csrf_access_token=") and "HttpOnly" not in c for c in cookies)


def test_it_rejects_a_wrong_password_without_naming_the_cause(client):
    user = make_user()
    wrong = client.post("/api/auth/login", json={"username": user.username, "password": "nope"})
    missing = client.post("/api/auth/login", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == missing.status_code == 401
    assert wrong.get_json() == missing.get_json()


def test_me_reports_role_and_permissions(client):
    user = make_user("customer_engagement")
    response = client.get("/api/auth/me", headers=login(client, user))
    assert response.status_code == 200
    assert response.get_json()["permissions"] == ["alerts.view", "reports.view", "status.view"]
