"""Each audited change leaves exactly one row, with who, from where, and before/after,
driven through the API as staff would; secrets never reach the trail."""

from datetime import timedelta

from portal.dbtypes import utcnow
from portal.extensions import db
from tests.factories import PASSWORD, login, make_server, make_user
from tests.portal.audit.trail import audit_rows

AGENT = {"User-Agent": "Mozilla/5.0 (audit test)"}


def _one(action: str):
    """The one row of ``action`` that staff caused (the factories' own are the system's)."""
    rows = [row for row in audit_rows(action) if row.actor_kind != "system"]
    assert len(rows) == 1, [(row.action, row.target_name) for row in audit_rows()]
    return rows[0]


def test_user_lifecycle(client):
    admin = make_user("admin", username="chief")
    headers = {**login(client, admin), **AGENT}
    created = client.post("/api/users", headers=headers, json={
        "username": "teller", "password": "violet-harbour-engine-42", "role": "it_staff",
        "email": "teller@bank.example"})
    assert created.status_code == 201, created.get_json()
    user_id = created.get_json()["id"]
    row = _one("user.created")
    assert (row.actor_kind, row.actor_name, row.actor_id) == ("user", "chief", admin.id)
    assert (row.target_kind, row.target_id, row.target_name) == ("user", str(user_id), "teller")
    assert row.after["role"] == "it_staff" and "password" not in row.after
    assert row.address == "127.0.0.1" and row.user_agent == AGENT["User-Agent"]

    assert client.patch(f"/api/users/{user_id}", headers=headers,
                        json={"role": "developer"}).status_code == 200
    row = _one("user.updated")
    assert (row.before, row.after) == ({"role": "it_staff"}, {"role": "developer"})

    assert client.patch(f"/api/users/{user_id}", headers=headers,
                        json={"password": "ochre-lantern-meadow-17"}).status_code == 200
    row = _one("user.password_reset")
    assert row.detail == {"sessions_ended": True} and row.actor_name == "chief"
    assert "ochre-lantern-meadow-17" not in str([r.__dict__ for r in audit_rows()])

    assert client.patch(f"/api/users/{user_id}", headers=headers,
                        json={"is_active": False}).status_code == 200
    row = _one("user.disabled")
    assert (row.before, row.after) == ({"is_active": True}, {"is_active": False})

    assert client.delete(f"/api/users/{user_id}", headers=headers).status_code == 204
    row = _one("user.deleted")
    assert row.target_name == "teller" and row.before["role"] == "developer"
    assert [r.action for r in audit_rows() if r.actor_kind != "system"] == [
        "auth.sign_in", "user.created", "user.updated", "user.password_reset", "user.disabled",
        "user.deleted"]


def test_a_refused_change_leaves_no_row(client):
    headers = login(client, make_user("admin"))
    response = client.patch("/api/users/999", headers=headers, json={"role": "developer"})
    assert response.status_code == 404
    assert [r.action for r in audit_rows() if r.actor_kind != "system"] == ["auth.sign_in"]


def test_an_own_password_change_on_the_profile(client):
    user = make_user("it_staff")
    headers = login(client, user)
    response = client.patch("/api/auth/me", headers=headers, json={
        "current_password": PASSWORD, "new_password": "copper-willow-tide-93", "phone": "+256700000111"})
    assert response.status_code == 200, response.get_json()
    row = _one("auth.password_changed")
    assert row.actor_id == user.id and row.target_id == str(user.id)
    profile = _one("user.profile_updated")
    assert profile.after == {"phone": "+256700000111"}


def test_api_tokens_created_and_revoked_and_what_a_token_does(client):
    user = make_user("developer")
    headers = login(client, user)
    created = client.post("/api/tokens", headers=headers, json={"name": "ci"}).get_json()
    row = _one("token.created")
    assert row.target_name == "ci" and row.after["prefix"] == created["prefix"]
    assert created["token"] not in str(row.after)
    with_token = {"Authorization": f"Bearer {created['token']}"}
    server = client.post("/api/servers", headers=with_token,
                         json={"name": "cbs", "kind": "tcp", "target": "10.0.0.7:1521"})
    assert server.status_code == 201
    row = _one("server.created")
    assert (row.actor_kind, row.actor_id, row.token_id) == ("token", user.id, created["id"])
    assert client.delete(f"/api/tokens/{created['id']}", headers=headers).status_code == 204
    assert _one("token.revoked").target_id == str(created["id"])


def test_servers_created_changed_deleted_with_the_fields_that_changed(client):
    headers = login(client, make_user("it_staff"))
    server = client.post("/api/servers", headers=headers, json={
        "name": "swift-gw", "kind": "http", "target": "https://swift.bank.example/health"}).get_json()
    assert _one("server.created").after["target"] == "https://swift.bank.example/health"
    client.patch(f"/api/servers/{server['id']}", headers=headers,
                 json={"interval_s": 60, "labels": {"site": "dc2"}})
    row = _one("server.updated")
    assert row.before == {"interval_s": server["interval_s"], "labels": {}}
    assert row.after == {"interval_s": 60, "labels": {"site": "dc2"}}
    client.patch(f"/api/servers/{server['id']}", headers=headers, json={"interval_s": 60})
    assert len(audit_rows("server.updated")) == 1  # nothing changed, nothing recorded
    assert client.delete(f"/api/servers/{server['id']}", headers=headers).status_code == 204
    assert _one("server.deleted").before["name"] == "swift-gw"


def test_settings_changes_name_each_field_old_and_new(client):
    headers = login(client, make_user("admin"))
    response = client.put("/api/settings", headers=headers,
                          json={"probe_interval_s": 45, "timezone": "Africa/Nairobi"})
    assert response.status_code == 200, response.get_json()
    row = _one("settings.updated")
    assert row.before == {"probe_interval_s": 30, "timezone": "Africa/Kampala"}
    assert row.after == {"probe_interval_s": 45, "timezone": "Africa/Nairobi"}


def test_maintenance_windows_created_and_cancelled(client):
    server = make_server("cbs-db")
    headers = login(client, make_user("it_staff"))
    now = utcnow()
    window = client.post("/api/maintenance", headers=headers, json={
        "server_id": server.id, "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "reason": "patching"}).get_json()
    row = _one("maintenance.created")
    assert row.target_name == "cbs-db" and row.after["reason"] == "patching"
    client.delete(f"/api/maintenance/{window['id']}", headers=headers)
    assert _one("maintenance.cancelled").target_id == str(window["id"])


def test_who_is_paged_changes_are_recorded_without_a_webhooks_secret_path(client):
    server = make_server("cbs")
    headers = login(client, make_user("admin"))
    contact = client.post(f"/api/servers/{server.id}/contacts", headers=headers, json={
        "name": "DBA on call", "phone": "+256700000022"}).get_json()
    assert _one("contact.added").after["phone"] == "+256700000022"
    client.delete(f"/api/servers/{server.id}/contacts/{contact['id']}", headers=headers)
    assert _one("contact.removed").target_name == "DBA on call"
    endpoint = client.post("/api/notifications/endpoints", headers=headers, json={
        "name": "Teams", "kind": "chat",
        "url": "https://chat.bank.example/hooks/T0/B0/very-secret-path"}).get_json()
    row = _one("endpoint.added")
    assert row.after == {"kind": "chat", "url": "https://chat.bank.example/…"}
    client.delete(f"/api/notifications/endpoints/{endpoint['id']}", headers=headers)
    assert "very-secret-path" not in str(_one("endpoint.removed").before)


def test_machine_token_refusals_are_recorded_once_a_minute_per_address(client):
    for _ in range(5):
        assert client.get("/api/sd/targets", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.post("/api/alertmanager/webhook", json={}).status_code == 401
    rows = audit_rows("machine_token.refused")
    assert sorted((row.target_name, row.detail["bearer"]) for row in rows) == [
        ("alertmanager webhook", "missing"), ("service discovery", "wrong")]
    assert {row.actor_kind for row in rows} == {"anonymous"}
    db.session.rollback()


def test_sign_in_failures_throttling_and_sign_out_through_the_form_and_the_api(client):
    user = make_user("it_staff", username="kato")
    for _ in range(5):
        assert client.post("/api/auth/login", headers=AGENT,
                           json={"username": "KATO", "password": "wrong-guess"}).status_code == 401
    failed = audit_rows("auth.sign_in_failed")
    assert len(failed) == 5 and {row.actor_kind for row in failed} == {"anonymous"}
    assert failed[0].actor_name == "KATO" and failed[0].target_id == str(user.id)
    assert failed[0].detail == {"reason": "wrong password", "failures": 1}
    assert "wrong-guess" not in str([row.__dict__ for row in audit_rows()])
    [throttled] = audit_rows("auth.throttled")
    assert throttled.detail["failures"] == 5
    client.post("/api/auth/login", json={"username": "nobody", "password": "x" * 12})
    assert audit_rows("auth.sign_in_failed")[-1].detail["reason"] == "no such user"

    from portal.redis_client import get_redis
    for key in get_redis().scan_iter("login:*"):  # the wait the failures began, passed
        get_redis().delete(key)
    headers = login(client, user)
    row = _one("auth.sign_in")
    assert (row.actor_kind, row.actor_id, row.target_name) == ("user", user.id, "kato")
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    assert _one("auth.sign_out").actor_id == user.id
    client.post("/login", data={"username": "kato", "password": PASSWORD})
    assert len(audit_rows("auth.sign_in")) == 2
    from tests.support.pages import post_form
    post_form(client, "/logout")
    assert len(audit_rows("auth.sign_out")) == 2
