"""Repeated failed sign-ins are throttled per username and per address, for any username."""

from portal.auth import throttle
from tests.factories import PASSWORD, make_user


def _attempt(client, username, password="wrong-password", addr="10.0.0.1"):
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def test_it_throttles_a_username_after_repeated_failures(client):
    user = make_user()
    for _ in range(throttle.MAX_FAILURES_PER_USER):
        assert _attempt(client, user.username).status_code == 401
    blocked = _attempt(client, user.username, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


def test_it_throttles_unknown_usernames_the_same_way(client):
    make_user(username="real-user")
    for _ in range(throttle.MAX_FAILURES_PER_USER):
        _attempt(client, "ghost-user")
        _attempt(client, "real-user")
    ghost = _attempt(client, "ghost-user")
    real = _attempt(client, "real-user")
    assert ghost.status_code == real.status_code == 429
    ghost_body, real_body = ghost.get_json(), real.get_json()
    assert ghost_body["error"] == real_body["error"]
    # The same wait, give or take the second that may tick over between the two requests.
    assert abs(ghost_body["details"]["retry_after_s"] - real_body["details"]["retry_after_s"]) <= 1


def test_it_throttles_an_address_spraying_many_usernames(client):
    for i in range(throttle.MAX_FAILURES_PER_ADDRESS):
        _attempt(client, f"user-{i}", addr="10.9.9.9")
    assert _attempt(client, "someone-else", addr="10.9.9.9").status_code == 429
    assert _attempt(client, "someone-else", addr="10.9.9.10").status_code == 401


def test_a_success_clears_the_username_counter(client):
    user = make_user()
    for _ in range(throttle.MAX_FAILURES_PER_USER - 1):
        _attempt(client, user.username)
    assert _attempt(client, user.username, PASSWORD).status_code == 200
    assert _attempt(client, user.username).status_code == 401
    assert _attempt(client, user.username, PASSWORD).status_code == 200


def test_with_redis_unreachable_sign_in_is_a_clear_503_not_a_500(migrated):
    """The throttle's counters live in Redis; without them a sign-in can be neither checked
    nor counted, so it is refused, saying why, rather than crashing or letting it through."""
    from tests.conftest import fresh_app, make_config
    from tests.support.binaries import free_port

    user = None
    with fresh_app(make_config(migrated, REDIS_URL=f"redis://127.0.0.1:{free_port()}/15")) as app:
        user = make_user()
        response = app.test_client().post(
            "/api/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 503
    assert response.get_json()["error"] == ("sign-in is unavailable: the session store (Redis) "
                                            "does not answer; try again shortly")
