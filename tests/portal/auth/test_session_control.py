"""Sign-in sessions (auth/session_control.py): the list, ending one, all others or, as an
administrator, all of someone's; idle timeout and absolute lifetime; what ends them."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth import session_control
from portal.auth.models import SignInSession
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.settings.service import update_settings
from tests.factories import PASSWORD, make_user


class Device:
    """One browser or program: its own client (cookie jar), signed in through the API."""

    def __init__(self, app, user, agent: str = "pytest-device") -> None:
        self.client = app.test_client()
        response = self.client.post("/api/auth/login", headers={"User-Agent": agent},
                                    json={"username": user.username, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        self.access = response.get_json()["access_token"]
        self.refresh = response.get_json()["refresh_token"]
        self.client.delete_cookie("access_token_cookie")
        self.client.delete_cookie("refresh_token_cookie")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    def me(self, token: str | None = None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else self.headers
        return self.client.get("/api/auth/me", headers=headers).status_code

    def refreshed(self) -> str | None:
        response = self.client.post("/api/auth/refresh",
                                    headers={"Authorization": f"Bearer {self.refresh}"})
        return response.get_json()["access_token"] if response.status_code == 200 else None

    def sessions(self) -> list[dict]:
        response = self.client.get("/api/auth/sessions", headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]


def _row(device: Device) -> SignInSession:
    from flask_jwt_extended import decode_token

    db.session.expire_all()
    return db.session.get(SignInSession, decode_token(device.access)["sid"])


def _clock(monkeypatch, ahead: timedelta) -> None:
    monkeypatch.setattr(session_control, "now", lambda: utcnow() + ahead)


def test_the_list_shows_each_sign_in_with_its_device_and_which_one_is_asking(app):
    user = make_user("it_staff")
    laptop, phone = Device(app, user, "Firefox on the laptop"), Device(app, user, "Safari on the phone")
    Device(app, make_user("it_staff"))  # someone else's session is not listed
    items = laptop.sessions()
    assert sorted(item["user_agent"] for item in items) == ["Firefox on the laptop",
                                                           "Safari on the phone"]
    [current] = [item for item in items if item["current"]]
    assert current["user_agent"] == "Firefox on the laptop"
    assert current["address"] == "127.0.0.1" and current["created_at"] and current["last_seen_at"]
    assert [item["current"] for item in phone.sessions() if item["user_agent"].startswith("Safari")] == [True]


def test_ending_one_session_refuses_its_tokens_and_those_refresh_minted_but_not_the_others(app):
    user = make_user("it_staff")
    mine, stolen = Device(app, user), Device(app, user)
    minted = stolen.refreshed()
    assert minted and stolen.me(minted) == 200
    response = mine.client.delete(f"/api/auth/sessions/{_row(stolen).id}", headers=mine.headers)
    assert response.status_code == 204
    assert stolen.me() == 401
    assert stolen.me(minted) == 401
    assert stolen.refreshed() is None
    assert mine.me() == 200
    assert [item["current"] for item in mine.sessions()] == [True]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.session_ended"))
    assert event.actor_name == user.username and event.detail["session"] == _row(stolen).id


def test_someone_elses_session_or_an_unknown_one_is_not_found(app):
    mine = Device(app, make_user("it_staff"))
    theirs = Device(app, make_user("it_staff"))
    for sid in (_row(theirs).id, "no-such-session", "x" * 300):
        response = mine.client.delete(f"/api/auth/sessions/{sid}", headers=mine.headers)
        assert response.status_code == 404, sid
        assert response.get_json()["details"] == {"id": "not found"}
    assert theirs.me() == 200


def test_ending_all_others_keeps_only_the_one_asking(app):
    user = make_user("it_staff")
    here, there, elsewhere = Device(app, user), Device(app, user), Device(app, user)
    bare = here.client.delete("/api/auth/sessions", headers=here.headers)
    assert bare.status_code == 400 and "others" in bare.get_json()["details"]
    response = here.client.delete("/api/auth/sessions?others=true", headers=here.headers)
    assert response.status_code == 200 and response.get_json() == {"ended": 2}
    assert (here.me(), there.me(), elsewhere.me()) == (200, 401, 401)
    assert _row(there).ended_reason == "ended by its user"


def test_an_administrator_ends_every_session_of_a_user(app):
    user = make_user("ebanking_support")
    first, second = Device(app, user), Device(app, user)
    admin = Device(app, make_user("admin"))
    response = admin.client.delete(f"/api/users/{user.id}/sessions", headers=admin.headers)
    assert response.status_code == 200 and response.get_json() == {"ended": 2}
    assert (first.me(), second.me(), admin.me()) == (401, 401, 200)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.sessions_ended"))
    assert event.target_id == str(user.id) and event.detail == {"ended": 2}


def test_a_lower_role_cannot_end_the_sessions_of_a_higher_one(app):
    admin_user = make_user("admin")
    theirs = Device(app, admin_user)
    staff = Device(app, make_user("it_staff"))  # has users.manage, but fewer permissions
    response = staff.client.delete(f"/api/users/{admin_user.id}/sessions", headers=staff.headers)
    assert response.status_code == 403
    assert theirs.me() == 200
    viewer = Device(app, make_user("flexipay_support"))
    assert viewer.client.delete(f"/api/users/{admin_user.id}/sessions",
                                headers=viewer.headers).status_code == 403


def test_logout_ends_the_session_row_and_every_token_a_refresh_minted_from_it(app):
    device = Device(app, make_user("it_staff"))
    minted = device.refreshed()
    assert device.client.post("/api/auth/logout", headers=device.headers).status_code == 200
    assert device.me(minted) == 401
    assert _row(device).ended_reason == "signed out"


def test_a_session_idle_past_the_timeout_is_refused_and_ended(app, monkeypatch):
    device = Device(app, make_user("it_staff"))
    _clock(monkeypatch, timedelta(minutes=29))
    assert device.me() == 200
    _clock(monkeypatch, timedelta(minutes=29 + 31))
    response = device.client.get("/api/auth/me", headers=device.headers)
    assert response.status_code == 401
    assert "without activity" in response.get_json()["error"]
    assert _row(device).ended_reason == "idle"
    assert device.refreshed() is None


def test_the_idle_timeout_is_a_setting(app, monkeypatch):
    device = Device(app, make_user("it_staff"))
    update_settings({"session_idle_minutes": 5}, None)
    _clock(monkeypatch, timedelta(minutes=6))
    assert device.me() == 401


def test_a_session_past_its_lifetime_is_refused_however_active(app, monkeypatch):
    device = Device(app, make_user("it_staff"))
    update_settings({"session_lifetime_hours": 2}, None)
    row = _row(device)
    row.created_at = utcnow() - timedelta(hours=2, minutes=1)  # signed in 2 h ago, active since
    db.session.commit()
    response = device.client.get("/api/auth/me", headers=device.headers)
    assert response.status_code == 401
    assert "maximum length" in response.get_json()["error"]
    assert _row(device).ended_reason == "lifetime"


def test_the_lifetime_never_exceeds_the_refresh_tokens(app):
    update_settings({"session_lifetime_hours": 48}, None)
    assert session_control.limits().lifetime == timedelta(hours=12)  # REFRESH_TOKEN_HOURS
    update_settings({"session_lifetime_hours": 3}, None)
    assert session_control.limits().lifetime == timedelta(hours=3)


@pytest.mark.parametrize(("field", "value"), [("session_idle_minutes", 0),
                                              ("session_idle_minutes", 1441),
                                              ("session_lifetime_hours", 0),
                                              ("session_lifetime_hours", "12h")])
def test_out_of_range_session_settings_are_refused_naming_the_field(app, field, value):
    admin = Device(app, make_user("admin"))
    response = admin.client.put("/api/settings", headers=admin.headers, json={field: value})
    assert response.status_code == 400
    assert field in response.get_json()["details"]


def test_last_seen_moves_at_most_once_a_minute(app, monkeypatch):
    device = Device(app, make_user("it_staff"))
    signed_in = _row(device).last_seen_at
    _clock(monkeypatch, timedelta(seconds=30))
    assert device.me() == 200
    assert _row(device).last_seen_at == signed_in
    _clock(monkeypatch, timedelta(seconds=61))
    assert device.me() == 200
    assert _row(device).last_seen_at > signed_in + timedelta(seconds=60)


def test_disabling_a_password_change_and_a_role_change_end_every_session(app):
    admin = Device(app, make_user("admin"))
    for change, reason in (({"is_active": False}, "account disabled"),
                           ({"password": "a-fresh-reset-password-7"}, "password reset"),
                           ({"role": "flexipay_support"}, "role changed")):
        user = make_user("it_staff")
        device = Device(app, user)
        response = admin.client.patch(f"/api/users/{user.id}", headers=admin.headers, json=change)
        assert response.status_code == 200, response.get_json()
        assert device.me() == 401, change
        assert _row(device).ended_reason == reason


def test_a_new_password_of_ones_own_ends_the_others_and_carries_on_in_a_new_session(app):
    user = make_user("it_staff")
    here, there = Device(app, user), Device(app, user)
    response = here.client.patch("/api/auth/me", headers=here.headers, json={
        "current_password": PASSWORD, "new_password": "another-long-password-42"})
    assert response.status_code == 200
    assert (here.me(), there.me()) == (401, 401)
    assert here.me(response.get_json()["access_token"]) == 200
    assert _row(there).ended_reason == "password changed"


def test_an_api_token_lists_the_sessions_and_ends_them_all(app):
    user = make_user("admin")
    browser = Device(app, user)
    created = browser.client.post("/api/tokens", headers=browser.headers, json={"name": "script"})
    token = {"Authorization": f"Bearer {created.get_json()['token']}"}
    listed = browser.client.get("/api/auth/sessions", headers=token).get_json()["items"]
    assert [item["current"] for item in listed] == [False]
    response = browser.client.delete("/api/auth/sessions?others=1", headers=token)
    assert response.get_json() == {"ended": 1}
    assert browser.me() == 401


def test_a_sign_in_clears_the_users_rows_older_than_any_session_can_last(app):
    user = make_user("it_staff")
    old = Device(app, user)
    row = _row(old)
    row.created_at = row.last_seen_at = utcnow() - timedelta(days=32)
    db.session.commit()
    recent = Device(app, user)
    db.session.expire_all()
    kept = db.session.scalars(select(SignInSession.id).where(SignInSession.user_id == user.id)).all()
    assert kept == [_row(recent).id]
