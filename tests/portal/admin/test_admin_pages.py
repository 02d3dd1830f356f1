"""The Admin page and its user management forms, with the escalation rules of the service."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.auth.passwords import verify_password
from portal.dbtypes import utcnow
from portal.extensions import db
from tests.factories import make_server, make_user
from tests.support.pages import post_form, sign_in


def _user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def _new_user_form(**overrides):
    data = {"username": "new.person", "role": "customer_engagement", "email": "new@bank.example",
            "phone": "", "password": "a-long-enough-password", "is_active": "on", "notify_email": "on"}
    data.update(overrides)
    return data


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin")
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("role", ["customer_engagement", "flexipay_support"])
def test_roles_without_admin_view_are_refused(client, role):
    sign_in(client, role)
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/users/new").status_code == 403


def test_the_page_lists_users_presence_components_and_counts(client):
    me = sign_in(client, "ebanking_support")
    away = make_user("developer", username="away.dev")
    away.last_seen_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    make_server("web-1")
    response = client.get("/admin")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    own_row = html[html.index(f'data-user-id="{me.id}"'):html.index(f'data-user-id="{away.id}"')]
    assert "Online now" in own_row and "E-Banking Support" in own_row
    away_row = html[html.index(f'data-user-id="{away.id}"'):]
    assert "Online now" not in away_row.split("</tr>")[0] and "seen 2 h ago" in away_row
    for component in ("database", "redis", "prometheus", "alertmanager", "grafana"):
        assert f'data-component="{component}"' in html
    assert "Failing" in html  # the test config points Prometheus at a closed port
    assert "Not configured" in html  # no GRAFANA_URL in tests
    assert re.search(r"Servers registered</dt><dd[^>]*>1<", html)


def test_the_page_shows_the_pipelines_own_health(client):
    from portal.pipeline.heartbeats import beat

    sign_in(client, "it_staff")
    beat("worker", "periodic jobs running")
    seen = utcnow() - timedelta(minutes=10)
    beat("watchdog", "Watchdog received from Alertmanager", at=seen)
    db.session.commit()
    html = client.get("/admin").get_data(as_text=True)

    def component(name):
        return html.split(f'data-component="{name}"', 1)[1].split("</li>", 1)[0]

    assert "OK" in component("worker") and "periodic jobs running" in component("worker")
    assert "Failing" in component("watchdog")
    # In the configured zone (Africa/Kampala, EAT), with its age.
    local = seen.astimezone(ZoneInfo("Africa/Kampala")).strftime("%Y-%m-%d %H:%M:%S EAT")
    assert f"last seen {local} (600 s ago)" in component("watchdog")
    assert "Failing" in component("reconciler") and "never seen" in component("reconciler")
    assert "Failing" in component("exporter")  # nothing listens on the test config's port


def test_the_role_choice_offers_only_roles_the_actor_may_grant(client):
    sign_in(client, "it_staff")
    html = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="ebanking_support"' in html and 'value="customer_engagement"' in html
    assert 'value="developer"' not in html and 'value="admin"' not in html


def test_creating_a_user_through_the_form(client):
    sign_in(client, "it_staff")
    response = post_form(client, "/admin/users/new", _new_user_form())
    assert response.status_code == 302
    user = _user("new.person")
    assert user.role == "customer_engagement" and user.notify_email and not user.notify_sms
    assert verify_password(user.password_hash, "a-long-enough-password")


def test_granting_a_role_outside_the_actors_permissions_is_refused(client):
    sign_in(client, "it_staff")
    response = post_form(client, "/admin/users/new", _new_user_form(role="developer"))
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "you cannot grant the developer role" in html
    assert 'data-field-error="role"' in html
    assert _user("new.person") is None


def test_bad_fields_are_shown_next_to_them(client):
    sign_in(client)
    response = post_form(client, "/admin/users/new",
                         _new_user_form(username="X", email="nope", password="short"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("username", "email", "password"):
        assert f'data-field-error="{field}"' in html, field
    assert 'value="nope"' in html
    assert 'value="short"' not in html  # passwords are never echoed back


def test_editing_a_user_through_the_form(client):
    sign_in(client)
    other = make_user("customer_engagement", username="cs.agent")
    old_hash = other.password_hash
    response = post_form(client, f"/admin/users/{other.id}/edit", {
        "role": "flexipay_support", "email": "agent@bank.example", "phone": "+256700123456",
        "notify_sms": "on", "password": "",
    })
    assert response.status_code == 302
    user = _user("cs.agent")
    assert (user.role, user.email, user.phone) == ("flexipay_support", "agent@bank.example", "+256700123456")
    assert user.notify_sms and not user.notify_email and not user.is_active  # unchecked boxes
    assert user.password_hash == old_hash  # blank password keeps the old one


def test_sms_without_a_phone_is_an_error_on_phone(client):
    sign_in(client)
    other = make_user("customer_engagement", username="cs.agent")
    response = post_form(client, f"/admin/users/{other.id}/edit", {
        "role": "customer_engagement", "email": "agent@bank.example", "notify_sms": "on",
        "is_active": "on",
    })
    assert response.status_code == 400
    assert 'data-field-error="phone"' in response.get_data(as_text=True)
    assert not _user("cs.agent").notify_sms


def test_users_cannot_edit_accounts_that_outrank_them(client):
    sign_in(client, "it_staff")
    boss = make_user("admin", username="the.boss")
    assert client.get(f"/admin/users/{boss.id}/edit").status_code == 403
    response = post_form(client, f"/admin/users/{boss.id}/edit",
                         {"role": "it_staff", "email": "x@bank.example", "is_active": "on"})
    assert response.status_code == 403
    assert _user("the.boss").role == "admin"
    assert f"/admin/users/{boss.id}/edit" not in client.get("/admin").get_data(as_text=True)


def test_editing_oneself_leaves_role_and_activation_alone(client):
    me = sign_in(client, "it_staff")
    html = client.get(f"/admin/users/{me.id}/edit").get_data(as_text=True)
    assert 'name="role"' not in html and 'name="is_active"' not in html
    response = post_form(client, f"/admin/users/{me.id}/edit",
                         {"role": "customer_engagement", "email": "me@bank.example"})
    assert response.status_code == 302
    assert _user(me.username).role == "it_staff" and _user(me.username).is_active


def test_deleting_a_user_asks_first(client):
    sign_in(client)
    other = make_user("developer", username="leaver")
    confirm = client.get(f"/admin/users/{other.id}/delete")
    assert confirm.status_code == 200 and "Delete leaver?" in confirm.get_data(as_text=True)
    assert _user("leaver") is not None
    response = post_form(client, f"/admin/users/{other.id}/delete")
    assert response.status_code == 302
    assert _user("leaver") is None


def test_deleting_oneself_is_refused_with_the_reason(client):
    me = sign_in(client)
    response = post_form(client, f"/admin/users/{me.id}/delete")
    assert response.status_code == 302
    assert "you cannot delete your own account" in client.get("/admin").get_data(as_text=True)
    assert _user(me.username) is not None
