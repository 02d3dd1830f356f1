"""The two-step API sign-in, role enforcement, throttled codes, fresh 2FA for API tokens and
an administrator's reset, driven as an API client would."""

from __future__ import annotations

import threading

import pytest
import requests

from portal.audit.models import AuditEvent
from portal.auth import mfa
from portal.extensions import db
from tests.factories import PASSWORD, login, make_user
from tests.support.live_server import serving
from tests.support.mfa import T0, code, enrol, require_for


@pytest.fixture
def clock(monkeypatch):
    now = {"t": T0}
    monkeypatch.setattr(mfa, "now", lambda: now["t"])
    return now


def _login(client, user):
    return client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})


def _second(client, token, the_code):
    return client.post("/api/auth/login/mfa", json={"mfa_token": token, "code": the_code})


def _bearer(response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_an_enrolled_user_signs_in_in_two_steps(client, clock):
    user = make_user("it_staff")
    secret, _ = enrol(user)
    first = _login(client, user)
    body = first.get_json()
    assert first.status_code == 401 and body["mfa_required"] is True
    assert "access_token" not in body and "access_token_cookie" not in first.headers.get("Set-Cookie", "")
    done = _second(client, body["mfa_token"], code(secret, T0))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["user"]["username"] == user.username
    assert client.get("/api/auth/me", headers=_bearer(done)).status_code == 200


def test_a_replayed_code_and_a_used_token_are_refused(client, clock):
    user = make_user("it_staff")
    secret, _ = enrol(user)
    token = _login(client, user).get_json()["mfa_token"]
    assert _second(client, token, code(secret, T0)).status_code == 200
    again = _second(client, token, code(secret, T0))
    assert again.status_code == 401 and "mfa_token" in again.get_json()["details"]
    fresh_token = _login(client, user).get_json()["mfa_token"]
    replay = _second(client, fresh_token, code(secret, T0))
    assert replay.status_code == 401 and "code" in replay.get_json()["details"]


def test_a_recovery_code_signs_in_once(client, clock):
    user = make_user("it_staff")
    _, codes = enrol(user)
    assert _second(client, _login(client, user).get_json()["mfa_token"], codes[0]).status_code == 200
    assert _second(client, _login(client, user).get_json()["mfa_token"], codes[0]).status_code == 401


def test_bad_tokens_and_bodies_are_4xx_naming_the_field(client, clock):
    assert _second(client, "x" * 40, "123456").get_json()["details"] == {
        "mfa_token": "invalid, expired or used"}
    assert client.post("/api/auth/login/mfa", json={"code": "1"}).status_code == 400
    assert client.post("/api/auth/login/mfa", json={"mfa_token": 5, "code": "1"}).status_code == 400


def test_wrong_codes_are_throttled_and_audited(client, clock):
    user = make_user("it_staff")
    enrol(user)
    token = _login(client, user).get_json()["mfa_token"]
    statuses = [_second(client, token, "000000" if i % 2 else "999999").status_code for i in range(7)]
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:]
    failed = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "auth.mfa_failed")).all()
    assert len(failed) == 5


def test_a_role_that_must_enrol_gets_no_session_from_the_api(client):
    require_for("admin")
    admin = make_user("admin")
    refused = _login(client, admin)
    body = refused.get_json()
    assert refused.status_code == 403 and body["mfa_enrolment_required"] is True
    assert "access_token" not in body and "mfa_token" not in body
    # another role is unaffected
    assert _login(client, make_user("it_staff")).status_code == 200


def test_creating_an_api_token_needs_a_fresh_second_factor(client, clock, monkeypatch):
    user = make_user("developer")
    secret, _ = enrol(user)
    headers = _bearer(_second(client, _login(client, user).get_json()["mfa_token"], code(secret, T0)))
    assert client.post("/api/tokens", json={"name": "ci"}, headers=headers).status_code == 201
    import time as real_time

    later = real_time.time() + mfa.FRESH_S + 5
    monkeypatch.setattr(mfa.time, "time", lambda: later)
    stale = client.post("/api/tokens", json={"name": "ci2"}, headers=headers)
    assert stale.status_code == 403 and "mfa" in stale.get_json()["details"]


def test_without_2fa_and_not_required_token_creation_is_as_before(client):
    headers = login(client, make_user("developer"))
    assert client.post("/api/tokens", json={"name": "ci"}, headers=headers).status_code == 201


def test_an_admin_reset_forces_enrolment_again_and_is_audited(client, clock):
    require_for("developer")
    admin, dev = make_user("admin"), make_user("developer")
    enrol(dev)
    headers = login(client, admin)
    assert client.delete(f"/api/users/{dev.id}/mfa", headers=headers).status_code == 204
    db.session.refresh(dev)
    assert dev.totp_enabled_at is None
    assert _login(client, dev).get_json()["mfa_enrolment_required"] is True
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "auth.mfa_reset"))
    assert client.delete("/api/users/999999/mfa", headers=headers).status_code == 404


def test_a_reset_needs_users_manage(client):
    viewer, other = make_user("customer_engagement"), make_user("it_staff")
    assert client.delete(f"/api/users/{other.id}/mfa", headers=login(client, viewer)).status_code == 403


def test_the_same_code_sent_in_parallel_signs_in_once(app, clock):
    """Served for real, four clients with four pending sign-ins race one code."""
    user = make_user("it_staff")
    secret, _ = enrol(user)
    with serving(app) as address:
        tokens = [requests.post(f"http://{address}/api/auth/login", timeout=30, json={
            "username": user.username, "password": PASSWORD}).json()["mfa_token"] for _ in range(4)]
        gate, answers = threading.Barrier(4), []

        def finish(token):
            gate.wait()
            answers.append(requests.post(f"http://{address}/api/auth/login/mfa", timeout=30, json={
                "mfa_token": token, "code": code(secret, T0)}).status_code)

        threads = [threading.Thread(target=finish, args=(token,)) for token in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(answers) == [200, 401, 401, 401]


def test_the_second_step_with_redis_unreachable_is_a_clear_503(migrated):
    """Pending sign-ins live in Redis: without it the second step says so, not a 500."""
    from tests.conftest import fresh_app, make_config
    from tests.support.binaries import free_port

    with fresh_app(make_config(migrated, REDIS_URL=f"redis://127.0.0.1:{free_port()}/15")) as app:
        response = app.test_client().post("/api/auth/login/mfa", json={
            "mfa_token": "t" * 43, "code": "123456"})
    assert response.status_code == 503
    assert "session store does not answer" in response.get_json()["error"]
