"""The daily digest is opt-in: each user switches their own, on the profile or with
PATCH /api/auth/me; users.manage sees and sets anyone's; every change is audited."""

import re

from portal.auth.models import User
from portal.extensions import db
from tests.factories import login, make_user
from tests.portal.audit.trail import audit_rows
from tests.support.pages import post_form, sign_in


def _fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_it_is_off_until_the_user_asks_for_it(client):
    user = make_user("flexipay_support")
    headers = login(client, user)
    assert client.get("/api/auth/me", headers=headers).get_json()["daily_digest"] is False
    response = client.patch("/api/auth/me", json={"daily_digest": True}, headers=headers)
    assert response.status_code == 200 and response.get_json()["daily_digest"] is True
    assert _fresh(user).daily_digest is True
    [row] = audit_rows("user.profile_updated")
    assert (row.before, row.after, row.actor_id) == ({"daily_digest": False},
                                                     {"daily_digest": True}, user.id)
    client.patch("/api/auth/me", json={"daily_digest": False}, headers=headers)
    assert _fresh(user).daily_digest is False


def test_a_value_that_is_not_a_boolean_is_refused_naming_the_field(client):
    user = make_user("it_staff")
    headers = login(client, user)
    response = client.patch("/api/auth/me", json={"daily_digest": "every morning"},
                            headers=headers)
    assert response.status_code == 400
    assert "daily_digest" in response.get_json()["details"]
    for switch in ("daily_digest", "notify_email"):  # null would reach a NOT NULL column
        response = client.patch("/api/auth/me", json={switch: None}, headers=headers)
        assert response.status_code == 400 and switch in response.get_json()["details"]
    assert _fresh(user).daily_digest is False


def test_admins_see_and_set_it_as_the_other_opt_ins(client):
    headers = login(client, make_user("admin"))
    created = client.post("/api/users", headers=headers, json={
        "username": "ops.lead", "password": "violet-harbour-engine-42", "role": "it_staff",
        "email": "ops.lead@bank.example", "daily_digest": True})
    assert created.status_code == 201 and created.get_json()["daily_digest"] is True
    user_id = created.get_json()["id"]
    assert audit_rows("user.created")[-1].after["daily_digest"] is True
    response = client.patch(f"/api/users/{user_id}", json={"daily_digest": False},
                            headers=headers)
    assert response.status_code == 200 and response.get_json()["daily_digest"] is False
    [row] = audit_rows("user.updated")
    assert (row.before, row.after) == ({"daily_digest": True}, {"daily_digest": False})
    listed = client.get("/api/users?q=ops.lead", headers=headers).get_json()["items"]
    assert [item["daily_digest"] for item in listed] == [False]
    bad = client.patch(f"/api/users/{user_id}", json={"daily_digest": None}, headers=headers)
    assert bad.status_code == 400 and "daily_digest" in bad.get_json()["details"]


def _ticked(html: str) -> bool:
    box = re.search(r'<input[^>]*name="daily_digest"[^>]*>', html)
    assert box, "no daily digest checkbox"
    return " checked" in box.group(0)


def test_the_profile_page_switches_it(client):
    user = sign_in(client, "customer_engagement")
    assert not _ticked(client.get("/profile").get_data(as_text=True))
    response = post_form(client, "/profile", {"email": user.email, "notify_email": "on",
                                              "daily_digest": "on"})
    assert response.status_code == 302
    assert _fresh(user).daily_digest is True
    assert _ticked(client.get("/profile").get_data(as_text=True))
    post_form(client, "/profile", {"email": user.email, "notify_email": "on"})  # unticked
    assert _fresh(user).daily_digest is False


def test_the_admin_user_form_sets_it(client):
    sign_in(client)
    other = make_user("it_staff", username="night.shift")
    assert not _ticked(client.get(f"/admin/users/{other.id}/edit").get_data(as_text=True))
    response = post_form(client, f"/admin/users/{other.id}/edit", {
        "role": "it_staff", "email": other.email, "is_active": "on", "notify_email": "on",
        "daily_digest": "on", "password": ""})
    assert response.status_code == 302
    assert _fresh(other).daily_digest is True
    [row] = audit_rows("user.updated")
    assert row.after == {"daily_digest": True}
