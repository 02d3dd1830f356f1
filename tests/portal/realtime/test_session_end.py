"""An open /ws ends with its session: a sign-out, a disabled account, a new password or a
deleted API token closes it with 4401 and a changed role with 4403, within a few seconds
even when no event is flowing, and nothing published after a sign-out reaches it."""

import time

import pytest
import redis
import requests
from flask_jwt_extended import decode_token
from redis.backoff import NoBackoff
from redis.retry import Retry

from portal.auth.sessions import REVOKED_PREFIX
from portal.extensions import db
from portal.realtime.publish import check_sessions_of, publish
from portal.redis_client import get_redis
from tests.factories import PASSWORD, make_server, make_user
from tests.portal.realtime.sockets import (
    connect,
    cookie_header,
    receive,
    sign_in,
    until_closed,
)

SESSION_ENDED = 4401
ROLE_CHANGED = 4403
TRY_AGAIN_LATER = 1013
# The socket re-checks every 2 s and wakes every second; the rest is room for a slow machine.
BOUND_S = 5.0


def bearer(address, user) -> dict[str, str]:
    response = requests.post(f"http://{address}/api/auth/login",
                             json={"username": user.username, "password": PASSWORD}, timeout=10)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def open_socket(address, cookies, **kwargs):
    ws = connect(address, cookie_header(cookies), **kwargs)
    receive(ws, "snapshot")
    return ws


def sign_out_on_the_page(address, cookies) -> None:
    response = requests.post(f"http://{address}/logout", cookies=cookies, allow_redirects=False,
                             data={"csrf_token": cookies["csrf_access_token"]}, timeout=10)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def sign_out_through_the_api(address, cookies) -> None:
    response = requests.post(f"http://{address}/api/auth/logout", cookies=cookies, timeout=10,
                             headers={"X-CSRF-TOKEN": cookies["csrf_access_token"]})
    assert response.status_code == 200, response.text


def redis_away() -> redis.Redis:
    """A session store that refuses at once (no retries, which would outlast the bound)."""
    return redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))


def refresh_only(cookies) -> dict[str, str]:
    """What a browser sends once its access cookie has expired: the refresh cookie alone."""
    return {"refresh_token_cookie": cookies["refresh_token_cookie"]}


@pytest.mark.parametrize("sign_out", [sign_out_on_the_page, sign_out_through_the_api],
                         ids=["page", "api"])
def test_signing_out_closes_the_socket_before_any_later_event_reaches_it(live, sign_out):
    user = make_user("it_staff")
    server = make_server()
    cookies = sign_in(live, user)
    ws = open_socket(live, cookies)
    sign_out(live, cookies)
    publish("status", {"server_id": server.id, "status": "down", "reason": "after sign-out"})
    publish("notification", {"user_id": user.id, "title": "after sign-out"})
    code, frames, _ = until_closed(ws, BOUND_S)
    assert code == SESSION_ENDED
    assert [frame["type"] for frame in frames if frame["type"] != "ping"] == []


def test_a_quiet_socket_closes_within_seconds_of_signing_out(live):
    cookies = sign_in(live, make_user("it_staff"))
    ws = open_socket(live, cookies)
    sign_out_on_the_page(live, cookies)
    code, frames, took = until_closed(ws, BOUND_S)
    assert (code, frames) == (SESSION_ENDED, [])
    assert took < BOUND_S


def test_a_revocation_whose_notice_was_lost_still_closes_a_quiet_socket(live):
    """The revoked session in Redis is the authority; the notice on the bus only hurries it.
    Revoked here as another process would, without the notice (pub/sub is best effort)."""
    cookies = sign_in(live, make_user("it_staff"))
    ws = open_socket(live, cookies)
    time.sleep(0.2)  # the revocation lands between checks, not before the first one
    refresh = decode_token(cookies["refresh_token_cookie"])
    get_redis().set(REVOKED_PREFIX + refresh["jti"], "1", ex=60)
    code, frames, _ = until_closed(ws, BOUND_S)
    assert (code, frames) == (SESSION_ENDED, [])


def test_signing_out_closes_a_socket_opened_with_the_refresh_cookie_alone(live):
    cookies = sign_in(live, make_user("it_staff"))
    ws = open_socket(live, refresh_only(cookies))
    sign_out_on_the_page(live, cookies)
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == SESSION_ENDED


def test_disabling_the_account_closes_its_socket(live):
    admin = bearer(live, make_user("admin"))
    user = make_user("it_staff")
    ws = open_socket(live, sign_in(live, user))
    response = requests.patch(f"http://{live}/api/users/{user.id}", json={"is_active": False},
                              headers=admin, timeout=10)
    assert response.status_code == 200, response.text
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == SESSION_ENDED


def test_a_role_change_by_an_administrator_ends_the_session_and_its_socket(live):
    """A role change ends every session of the account (issue 15): the page signs in again."""
    admin = bearer(live, make_user("admin"))
    user = make_user("it_staff")
    cookies = sign_in(live, user)
    ws = open_socket(live, cookies)
    response = requests.patch(f"http://{live}/api/users/{user.id}", json={"role": "flexipay_support"},
                              headers=admin, timeout=10)
    assert response.status_code == 200, response.text
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == SESSION_ENDED
    code, _, _ = until_closed(connect(live, cookie_header(cookies)), BOUND_S)
    assert code == 1008  # the handshake is refused: that session is over


def test_a_role_that_changes_under_a_live_session_closes_the_socket_to_reconnect_at_once(live):
    """A role changed without ending the sessions (straight in the database): 4403, and the
    same session reconnects with the new role's events."""
    user = make_user("it_staff")
    cookies = sign_in(live, user)
    ws = open_socket(live, cookies)
    user.role = "flexipay_support"
    db.session.commit()
    check_sessions_of(user.id)
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == ROLE_CHANGED
    again = open_socket(live, cookies)  # the same session, now with the new role
    time.sleep(BOUND_S)
    publish("incident", {"id": 3, "state": "open"})
    assert receive(again, "incident")["data"]["id"] == 3


def test_a_new_password_closes_the_sockets_of_every_other_session(live):
    user = make_user("it_staff")
    other = sign_in(live, user)
    ws = open_socket(live, other)
    response = requests.patch(f"http://{live}/api/auth/me", headers=bearer(live, user), timeout=10,
                              json={"current_password": PASSWORD,
                                    "new_password": "tangerine-voltage-harbour-93"})
    assert response.status_code == 200, response.text
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == SESSION_ENDED


def test_deleting_the_api_token_closes_a_socket_opened_with_it(live):
    user = make_user("admin")
    headers = bearer(live, user)
    created = requests.post(f"http://{live}/api/tokens", json={"name": "wall screen"},
                            headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    ws = connect(live, headers={"Authorization": f"Bearer {created.json()['token']}"})
    receive(ws, "snapshot")
    deleted = requests.delete(f"http://{live}/api/tokens/{created.json()['id']}", headers=headers,
                              timeout=10)
    assert deleted.status_code == 204
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == SESSION_ENDED


@pytest.mark.parametrize("which", ["both cookies", "refresh cookie alone"])
def test_a_socket_stays_open_and_fed_while_its_session_lasts(live, which):
    cookies = sign_in(live, make_user("it_staff"))
    ws = open_socket(live, cookies if which == "both cookies" else refresh_only(cookies))
    time.sleep(BOUND_S)  # several checks
    publish("incident", {"id": 9, "state": "open"})
    assert receive(ws, "incident")["data"]["id"] == 9


def test_losing_the_session_store_closes_the_socket_with_try_again_later(live, monkeypatch):
    """The session can no longer be checked, so the socket stops, as requests answer 503;
    1013 tells the page to reconnect with backoff rather than give up or sign in again."""
    ws = open_socket(live, sign_in(live, make_user("it_staff")))
    away = redis_away()
    monkeypatch.setattr("portal.auth.sessions.get_redis", lambda: away)
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == TRY_AGAIN_LATER


def test_a_handshake_without_the_session_store_asks_to_try_again_later(live, monkeypatch):
    cookies = sign_in(live, make_user("it_staff"))
    away = redis_away()
    monkeypatch.setattr("portal.auth.sessions.get_redis", lambda: away)
    code, _, _ = until_closed(connect(live, cookie_header(cookies)), BOUND_S)
    assert code == TRY_AGAIN_LATER


def _session_row(cookies):
    from portal.auth.models import SignInSession

    db.session.expire_all()
    return db.session.get(SignInSession, decode_token(cookies["access_token_cookie"])["sid"])


def test_ending_a_session_from_the_list_closes_its_socket_and_only_its(live):
    user = make_user("it_staff")
    mine, stolen = sign_in(live, user), sign_in(live, user)
    mine_ws, stolen_ws = open_socket(live, mine), open_socket(live, stolen)
    response = requests.delete(f"http://{live}/api/auth/sessions/{_session_row(stolen).id}",
                               cookies=mine, headers={"X-CSRF-TOKEN": mine["csrf_access_token"]},
                               timeout=10)
    assert response.status_code == 204, response.text
    code, _, _ = until_closed(stolen_ws, BOUND_S)
    assert code == SESSION_ENDED
    publish("incident", {"id": 5, "state": "open"})
    assert receive(mine_ws, "incident")["data"]["id"] == 5


def test_an_open_socket_counts_as_activity_so_a_wall_is_not_signed_out_for_idleness(live):
    from datetime import timedelta

    from portal.dbtypes import utcnow

    cookies = sign_in(live, make_user("it_staff"))
    ws = open_socket(live, cookies)
    row = _session_row(cookies)
    row.last_seen_at = utcnow() - timedelta(minutes=29)  # a minute from the 30 min timeout
    db.session.commit()
    deadline = time.monotonic() + BOUND_S
    while _session_row(cookies).last_seen_at < utcnow() - timedelta(minutes=1):
        assert time.monotonic() < deadline, "the socket's checks did not count as activity"
        time.sleep(0.2)
    publish("incident", {"id": 6, "state": "open"})
    assert receive(ws, "incident")["data"]["id"] == 6
    assert _session_row(cookies).ended_at is None


def test_a_socket_whose_session_idled_out_meanwhile_closes(live):
    """Idle is judged at the socket's check as at a request: a session already past the
    timeout (a laptop asleep for an hour) ends, and so does its socket."""
    from datetime import timedelta

    from portal.dbtypes import utcnow

    cookies = sign_in(live, make_user("it_staff"))
    ws = open_socket(live, cookies)
    row = _session_row(cookies)
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    code, _, _ = until_closed(ws, BOUND_S)
    assert code == SESSION_ENDED
    assert _session_row(cookies).ended_reason == "idle"
