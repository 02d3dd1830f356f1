"""The profile's session list with its buttons, and the administrator's "end all sessions"."""

import re

from flask_jwt_extended import decode_token

from portal.auth.models import SignInSession
from portal.extensions import db
from tests.factories import PASSWORD, make_user
from tests.support.pages import post_form, sign_in


def _other_device(app, user, agent="Firefox on the other laptop"):
    """A second browser signed in as ``user``: its client and its session id."""
    other = app.test_client()
    response = other.post("/login", headers={"User-Agent": agent},
                          data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return other, _sid(other)


def _sid(client) -> str:
    return decode_token(client.get_cookie("access_token_cookie").value)["sid"]


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-session-id="([^"]+)"', html)


def test_the_profile_lists_sessions_with_this_one_marked_and_a_button_each(app, client):
    user = sign_in(client, "it_staff")
    _, other_sid = _other_device(app, user)
    html = client.get("/profile").get_data(as_text=True)
    assert sorted(_rows(html)) == sorted([_sid(client), other_sid])
    assert "Firefox on the other laptop" in html
    assert html.count('data-testid="this-session"') == 1
    assert html.count('data-testid="end-session"') == 2
    assert 'data-testid="end-others"' in html


def test_with_one_session_there_is_no_sign_out_all_others(client):
    sign_in(client, "it_staff")
    html = client.get("/profile").get_data(as_text=True)
    assert len(_rows(html)) == 1 and 'data-testid="end-others"' not in html


def test_signing_out_another_session_from_the_profile(app, client):
    user = sign_in(client, "it_staff")
    other, other_sid = _other_device(app, user)
    response = post_form(client, f"/profile/sessions/{other_sid}/end")
    assert response.status_code == 302 and response.location.endswith("/profile")
    assert other.get("/profile").status_code == 302  # to sign-in
    html = client.get("/profile").get_data(as_text=True)
    assert _rows(html) == [_sid(client)]
    assert "That session is signed out." in html


def test_signing_out_this_session_from_the_profile_is_a_sign_out(client):
    sign_in(client, "it_staff")
    sid = _sid(client)
    response = post_form(client, f"/profile/sessions/{sid}/end")
    assert response.status_code == 302 and response.location.endswith("/login")
    assert client.get("/profile").status_code == 302
    assert db.session.get(SignInSession, sid).ended_reason == "ended by its user"


def test_sign_out_all_others_from_the_profile(app, client):
    user = sign_in(client, "it_staff")
    first, _ = _other_device(app, user)
    second, _ = _other_device(app, user, "Edge on a kiosk")
    response = post_form(client, "/profile/sessions/end-others", follow_redirects=True)
    assert "2 other sessions signed out." in response.get_data(as_text=True)
    assert first.get("/profile").status_code == 302 and second.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 200


def test_someone_elses_session_cannot_be_ended_from_a_profile(app, client):
    sign_in(client, "it_staff")
    other, other_sid = _other_device(app, make_user("it_staff"))
    response = post_form(client, f"/profile/sessions/{other_sid}/end", follow_redirects=True)
    assert "already ended" in response.get_data(as_text=True)
    assert other.get("/profile").status_code == 200


def test_the_admin_button_ends_every_session_of_the_user(app, client):
    sign_in(client, "admin")
    target = make_user("ebanking_support")
    theirs, _ = _other_device(app, target)
    form = client.get(f"/admin/users/{target.id}/edit").get_data(as_text=True)
    assert 'data-testid="end-sessions"' in form
    response = post_form(client, f"/admin/users/{target.id}/sessions/end", follow_redirects=True)
    assert f"1 session of {target.username} ended" in response.get_data(as_text=True)
    assert theirs.get("/profile").status_code == 302


def test_the_admin_button_is_refused_for_an_account_that_outranks_the_caller(app, client):
    sign_in(client, "it_staff")
    admin = make_user("admin")
    theirs, _ = _other_device(app, admin)
    response = post_form(client, f"/admin/users/{admin.id}/sessions/end")
    assert response.status_code == 403
    assert theirs.get("/profile").status_code == 200
