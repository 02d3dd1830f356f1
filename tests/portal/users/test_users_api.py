"""User management over the API, with the escalation rules from DESIGN.md."""

import threading

import pytest
import requests

from portal.auth.models import User
from portal.extensions import db
from tests.factories import PASSWORD, login, make_user
from tests.support.live_server import serving

NEW = {"username": "new.person", "password": "a-long-enough-pass", "role": "flexipay_support",
       "email": "new.person@bank.example"}


def test_it_creates_lists_shows_updates_and_deletes_a_user(client):
    headers = login(client, make_user("admin"))
    created = client.post("/api/users", json=NEW, headers=headers)
    assert created.status_code == 201
    user_id = created.get_json()["id"]
    assert "password" not in created.get_json() and "password_hash" not in created.get_json()
    listing = client.get("/api/users?q=new.per", headers=headers).get_json()
    assert [u["username"] for u in listing["items"]] == ["new.person"]
    assert client.get(f"/api/users/{user_id}", headers=headers).get_json()["role"] == NEW["role"]
    patched = client.patch(f"/api/users/{user_id}", json={"phone": "+256 700 123456"},
                           headers=headers)
    assert patched.get_json()["phone"] == "+256700123456"
    assert client.delete(f"/api/users/{user_id}", headers=headers).status_code == 204
    assert client.get(f"/api/users/{user_id}", headers=headers).status_code == 404


def test_passwords_are_stored_as_argon2_hashes(client):
    login_headers = login(client, make_user("admin"))
    client.post("/api/users", json=NEW, headers=login_headers)
    stored = db.session.scalar(db.select(User).where(User.username == "new.person"))
    assert stored.password_hash.startswith("$argon2id$")
    assert NEW["password"] not in stored.password_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "x"), ("email", "not-an-email"), ("phone", "0700"), ("role", "root"),
     ("password", "short")],
)
def test_bad_fields_are_named_in_a_400(client, field, value):
    headers = login(client, make_user("admin"))
    response = client.post("/api/users", json={**NEW, field: value}, headers=headers)
    assert response.status_code == 400
    assert field in response.get_json()["details"]
    assert db.session.scalar(db.select(User).where(User.username == "new.person")) is None


def test_unknown_fields_are_refused(client):
    headers = login(client, make_user("admin"))
    response = client.post("/api/users", json={**NEW, "is_admin": True}, headers=headers)
    assert response.status_code == 400
    assert "is_admin" in response.get_json()["details"]


def test_usernames_are_unique_regardless_of_case(client):
    headers = login(client, make_user("admin", username="taken"))
    response = client.post("/api/users", json={**NEW, "username": "TAKEN"}, headers=headers)
    assert response.status_code == 409
    assert "username" in response.get_json()["details"]


def test_a_manager_cannot_grant_a_role_above_their_own(client):
    headers = login(client, make_user("it_staff"))
    for role in ("admin", "developer"):
        response = client.post("/api/users", json={**NEW, "role": role}, headers=headers)
        assert response.status_code == 403
        assert "role" in response.get_json()["details"]
    assert client.post("/api/users", json={**NEW, "role": "ebanking_support"},
                       headers=headers).status_code == 201


def test_a_manager_cannot_promote_someone_above_their_own_role(client):
    headers = login(client, make_user("ebanking_support"))
    target = make_user("flexipay_support")
    response = client.patch(f"/api/users/{target.id}", json={"role": "developer"}, headers=headers)
    assert response.status_code == 403


def test_a_manager_cannot_edit_or_delete_an_account_that_outranks_them(client):
    headers = login(client, make_user("it_staff"))
    admin = make_user("admin")
    make_user("admin")
    assert client.patch(f"/api/users/{admin.id}", json={"password": "new-password-123"},
                        headers=headers).status_code == 403
    assert client.delete(f"/api/users/{admin.id}", headers=headers).status_code == 403


def test_nobody_changes_their_own_role(client):
    me = make_user("admin")
    make_user("admin")
    headers = login(client, me)
    response = client.patch(f"/api/users/{me.id}", json={"role": "it_staff"}, headers=headers)
    assert response.status_code == 403
    assert "role" in response.get_json()["details"]


def test_the_last_active_admin_cannot_be_demoted_disabled_or_removed(client):
    admin = make_user("admin")
    developer = make_user("developer")
    headers = login(client, developer)
    for change in ({"role": "it_staff"}, {"is_active": False}):
        response = client.patch(f"/api/users/{admin.id}", json=change, headers=headers)
        assert response.status_code == 409, change
    assert client.delete(f"/api/users/{admin.id}", headers=headers).status_code == 409
    second = make_user("admin")
    assert client.patch(f"/api/users/{admin.id}", json={"is_active": False},
                        headers=headers).status_code == 200
    assert client.delete(f"/api/users/{second.id}", headers=headers).status_code == 409


def test_a_user_cannot_delete_themselves(client):
    me = make_user("admin")
    make_user("admin")
    response = client.delete(f"/api/users/{me.id}", headers=login(client, me))
    assert response.status_code == 403


def test_sms_opt_in_needs_a_phone_number(client):
    headers = login(client, make_user("admin"))
    response = client.post("/api/users", json={**NEW, "notify_sms": True}, headers=headers)
    assert response.status_code == 400
    assert "phone" in response.get_json()["details"]


def test_user_listing_paginates_and_filters(client):
    headers = login(client, make_user("admin"))
    for _ in range(5):
        make_user("flexipay_support")
    page = client.get("/api/users?role=flexipay_support&per_page=2&page=2", headers=headers)
    body = page.get_json()
    assert body["total"] == 5 and body["pages"] == 3 and len(body["items"]) == 2
    bad = client.get("/api/users?per_page=1000", headers=headers)
    assert bad.status_code == 400 and "per_page" in bad.get_json()["details"]


def test_profile_changes_need_the_current_password_for_a_new_one(client):
    user = make_user("flexipay_support")
    headers = login(client, user)
    wrong = client.patch("/api/auth/me", json={"new_password": "another-good-pass",
                                               "current_password": "nope"}, headers=headers)
    assert wrong.status_code == 400 and "current_password" in wrong.get_json()["details"]
    ok = client.patch("/api/auth/me", json={"new_password": "another-good-pass",
                                            "current_password": "correct-horse-battery",
                                            "phone": "+256700000001", "notify_sms": True},
                      headers=headers)
    assert ok.status_code == 200 and ok.get_json()["notify_sms"] is True
    again = client.post("/api/auth/login", json={"username": user.username,
                                                 "password": "another-good-pass"})
    assert again.status_code == 200


def test_two_admins_demoted_at_once_leave_one(app):
    """Concurrent PATCHes, served for real: before, both won in 4 of 5 rounds and no
    active admin was left. Each round must end with exactly one."""
    with serving(app) as address:
        tokens = [bearer(address, make_user("developer")) for _ in range(2)]
        for _ in range(6):
            admins = [make_user("admin").id, make_user("admin").id]
            changes = [{"role": "it_staff"}, {"is_active": False}]
            gate = threading.Barrier(2)
            answers: list[int] = []

            def change(token, admin_id, body, gate=gate, answers=answers):
                gate.wait()
                answers.append(requests.patch(f"http://{address}/api/users/{admin_id}",
                                              json=body, headers=token, timeout=30).status_code)

            threads = [threading.Thread(target=change, args=args)
                       for args in zip(tokens, admins, changes, strict=True)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            db.session.expire_all()
            active = db.session.scalars(db.select(User).where(
                User.role == "admin", User.is_active.is_(True))).all()
            assert len(active) == 1 and sorted(answers) == [200, 409], answers
            for user in active:  # the next round starts with none
                user.is_active = False
            db.session.commit()


def bearer(address, user) -> dict[str, str]:
    response = requests.post(f"http://{address}/api/auth/login", timeout=10,
                             json={"username": user.username, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_user_manager_changes_their_own_password_only_with_the_current_one(client):
    """Before: PATCH /api/users/<self> set it without the current password."""
    me = make_user("it_staff")
    headers = login(client, me)
    response = client.patch(f"/api/users/{me.id}", json={"password": "a-new-long-password"},
                            headers=headers)
    assert response.status_code == 403 and "password" in response.get_json()["details"]
    assert client.post("/api/auth/login", json={"username": me.username,
                                                "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("change", [{"role": "flexipay_support"}, {"is_active": False}])
def test_api_tokens_end_when_their_owner_loses_api_access_or_is_disabled(client, change):
    """Before: refused while the owner lacked api.access, working again after re-promotion."""
    owner = make_user("developer")
    own = login(client, owner)
    token = client.post("/api/tokens", json={"name": "ci"}, headers=own).get_json()["token"]
    with_token = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=with_token).status_code == 200
    admin = login(client, make_user("admin"))
    assert client.patch(f"/api/users/{owner.id}", json=change, headers=admin).status_code == 200
    back = {"role": "developer"} if "role" in change else {"is_active": True}
    assert client.patch(f"/api/users/{owner.id}", json=back, headers=admin).status_code == 200
    assert client.get("/api/auth/me", headers=with_token).status_code == 401


WEAK = ["password12", "qwertyuiop", "Password1!", "password1234", "qwertyuiop12",
        "Password1!Password1!", "servermon2026", "aaaaaaaaaaaaaaaa", "1234567890123"]


@pytest.mark.parametrize("password", WEAK)
def test_common_and_short_passwords_are_refused_everywhere(client, password):
    """Before: password12, qwertyuiop and Password1! were accepted."""
    headers = login(client, make_user("admin"))
    created = client.post("/api/users", json={**NEW, "password": password}, headers=headers)
    assert created.status_code == 400 and "password" in created.get_json()["details"]
    other = make_user("flexipay_support")
    reset = client.patch(f"/api/users/{other.id}", json={"password": password}, headers=headers)
    assert reset.status_code == 400 and "password" in reset.get_json()["details"]
    own = client.patch("/api/auth/me", json={"new_password": password,
                                             "current_password": PASSWORD},
                       headers=login(client, other))
    assert own.status_code == 400 and "new_password" in own.get_json()["details"]


def test_a_password_built_from_the_username_or_address_is_refused(client):
    headers = login(client, make_user("admin"))
    for password in ("kampala.teller.07", "Kampala.Teller.07!", "kampala.teller@bank"):
        body = {**NEW, "username": "kampala.teller.07", "email": "kampala.teller@bank.example",
                "password": password}
        response = client.post("/api/users", json=body, headers=headers)
        assert response.status_code == 400, password
        assert "username or e-mail address" in response.get_json()["details"]["password"]
    good = {**NEW, "username": "kampala.teller.07", "password": "mango-river-lantern-42"}
    assert client.post("/api/users", json=good, headers=headers).status_code == 201
