"""Directory accounts against a real OpenLDAP server (tests/support/ldap.py): sign-in by
binding as the user over StartTLS, the role from groups, the worker's re-check, leavers
disabled, the directory away, and names that try to be filters."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth import directory
from portal.auth.directory_accounts import NO_GROUP, UNAVAILABLE
from portal.auth.models import User
from portal.auth.service import BAD_CREDENTIALS, LOCAL_RESTRICTED
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.jobs.periodic import recheck_directory_accounts
from portal.realtime.publish import CHANNEL, SESSION_CHECK
from portal.redis_client import channel, get_redis
from portal.settings.service import update_settings
from tests.conftest import fresh_app, make_config
from tests.factories import PASSWORD, make_user
from tests.support.binaries import free_port
from tests.support.ldap import Slapd, running_slapd
from tests.support.pages import post_form

pytestmark = pytest.mark.skipif(not Path("/usr/sbin/slapd").exists(),
                                reason="slapd (Debian's OpenLDAP server) is not installed; "
                                       "script/bootstrap installs it")

ALICE_PW = "alice-directory-pw-1"  # a test directory's
BOB_PW = "bob-directory-pw-22"


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


@pytest.fixture
def ldap(slapd: Slapd) -> Slapd:
    """The directory as each test starts it: the groups, nobody in them."""
    slapd.reset()
    return slapd


def app_on(migrated: str, **env: object):
    return fresh_app(make_config(migrated, **env))


@pytest.fixture
def app(migrated: str, ldap: Slapd) -> Iterator:
    with app_on(migrated, **ldap.env()) as app:
        yield app


def api_login(client, username: str, password: str):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def bearer(response) -> dict[str, str]:
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def make_due(*users: User) -> None:
    """As if the worker last read them longer ago than LDAP_RECHECK_MINUTES."""
    for user in users:
        user.directory_checked_at = utcnow() - timedelta(hours=1)
    db.session.commit()


# --- sign-in ------------------------------------------------------------------------------

def test_a_first_sign_in_creates_the_user_with_the_highest_role_of_its_groups(client, ldap):
    dn = ldap.add_person("alice", ALICE_PW, groups=("servermon-staff", "servermon-admins"),
                         mail="alice@bank.example", phone="+256 700 123456")
    response = api_login(client, "alice", ALICE_PW)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["source"] == "directory"
    alice = user_named("alice")
    assert (alice.role, alice.email, alice.phone) == ("admin", "alice@bank.example", "+256700123456")
    assert (alice.source, alice.directory_dn, alice.is_active) == ("directory", dn, True)
    assert alice.password_hash == "!directory"  # no password of theirs is kept
    assert actions()[-2:] == ["directory.user_created", "auth.sign_in"]
    assert client.get("/api/auth/me", headers=bearer(response)).get_json()["role"] == "admin"


def test_usernames_match_whatever_their_case(client, ldap):
    ldap.add_person("alice", ALICE_PW, groups=("servermon-staff",), mail="alice@bank.example")
    assert api_login(client, "ALICE", ALICE_PW).status_code == 200
    assert api_login(client, " Alice ", ALICE_PW).status_code == 200
    assert [u.username for u in db.session.scalars(select(User))] == ["alice"]


def test_a_wrong_or_empty_password_is_refused_as_a_local_one_is(client, ldap):
    ldap.add_person("alice", ALICE_PW, groups=("servermon-admins",))
    wrong = api_login(client, "alice", "not-her-password")
    empty = api_login(client, "alice", "")  # LDAP would take it as an anonymous bind
    missing = api_login(client, "nobody-here", ALICE_PW)
    assert wrong.status_code == empty.status_code == missing.status_code == 401
    assert wrong.get_json() == empty.get_json() == missing.get_json()
    assert wrong.get_json()["error"] == BAD_CREDENTIALS
    assert user_named("alice") is None


@pytest.mark.parametrize("typed", ["*)(uid=*", "*", "alice)(uid=*", "al*", "alice)(|(uid=*",
                                   "*)(objectClass=*"])
def test_filter_characters_in_a_username_are_searched_for_not_obeyed(client, ldap, typed):
    ldap.add_person("alice", ALICE_PW, groups=("servermon-admins",))
    assert api_login(client, typed, ALICE_PW).status_code == 401
    assert db.session.scalar(select(User.id)) is None
    config = directory.settings()
    with directory.reader(config) as reader:
        assert reader.find(typed) is None
        assert reader.find("alice") is not None


def test_throttling_applies_to_directory_passwords(client, ldap):
    ldap.add_person("alice", ALICE_PW, groups=("servermon-admins",))
    answers = [api_login(client, "alice", f"guess-{n}").status_code for n in range(6)]
    assert answers == [401] * 5 + [429]


def test_an_account_in_no_mapped_group_is_refused_with_a_clear_message(client, ldap):
    ldap.add_person("carol", "carol-directory-pw", groups=("payroll",))
    response = api_login(client, "carol", "carol-directory-pw")
    assert response.status_code == 403
    assert response.get_json()["error"] == NO_GROUP
    page = client.post("/login", data={"username": "carol", "password": "carol-directory-pw"})
    assert page.status_code == 403 and NO_GROUP.encode() in page.data
    assert user_named("carol") is None


def test_the_role_follows_the_groups_at_the_next_sign_in(client, ldap):
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    first = bearer(api_login(client, "bob", BOB_PW))
    assert user_named("bob").role == "it_staff"
    ldap.leave("bob", "servermon-staff")
    ldap.join("bob", "servermon-viewers")
    second = bearer(api_login(client, "bob", BOB_PW))
    assert user_named("bob").role == "customer_engagement"
    assert "directory.role_changed" in actions()
    assert client.get("/api/auth/me", headers=first).status_code == 401  # the old session ended
    assert client.get("/api/auth/me", headers=second).get_json()["role"] == "customer_engagement"


def test_removed_from_every_group_the_account_is_disabled_and_its_sessions_end(client, ldap):
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    session = bearer(api_login(client, "bob", BOB_PW))
    ldap.leave("bob", "servermon-staff")
    assert api_login(client, "bob", BOB_PW).status_code == 403
    bob = user_named("bob")
    assert not bob.is_active and bob.directory_disabled_at is not None
    assert client.get("/api/auth/me", headers=session).status_code == 401
    assert "directory.user_disabled" in actions()
    ldap.join("bob", "servermon-viewers")  # back in a group: back in the portal
    assert api_login(client, "bob", BOB_PW).status_code == 200
    assert user_named("bob").is_active and user_named("bob").role == "customer_engagement"


def test_missing_from_the_directory_the_account_is_disabled_at_its_next_sign_in(client, ldap):
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    bearer(api_login(client, "bob", BOB_PW))
    ldap.remove("bob")
    assert api_login(client, "bob", BOB_PW).status_code == 401
    assert not user_named("bob").is_active


def test_an_account_an_administrator_disabled_stays_disabled(client, ldap):
    admin = make_user("admin", username="breakglass")
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    bearer(api_login(client, "bob", BOB_PW))
    headers = bearer(api_login(client, admin.username, PASSWORD))
    bob = user_named("bob")
    assert client.patch(f"/api/users/{bob.id}", json={"is_active": False},
                        headers=headers).status_code == 200
    assert api_login(client, "bob", BOB_PW).status_code == 401
    assert not user_named("bob").is_active


def test_two_factor_sign_in_applies_after_the_directory_bind(client, ldap):
    update_settings({"mfa_required_roles": ["admin"]}, None)
    ldap.add_person("alice", ALICE_PW, groups=("servermon-admins",))
    response = api_login(client, "alice", ALICE_PW)
    assert response.status_code == 403 and response.get_json()["mfa_enrolment_required"]
    page = client.post("/login", data={"username": "alice", "password": ALICE_PW})
    assert page.status_code == 200 and b"/login/enrol" in page.data  # enrolment, no session


# --- the worker's re-check ----------------------------------------------------------------

def test_the_worker_recheck_changes_roles_and_disables_leavers(app, client, ldap):
    for uid, group in (("alice", "servermon-admins"), ("bob", "servermon-staff"),
                       ("dave", "servermon-viewers"), ("erin", "servermon-staff")):
        ldap.add_person(uid, f"{uid}-directory-pw", groups=(group,))
    sessions = {uid: bearer(api_login(client, uid, f"{uid}-directory-pw"))
                for uid in ("alice", "bob", "dave", "erin")}
    ldap.leave("bob", "servermon-staff")
    ldap.join("bob", "servermon-viewers")
    ldap.remove("dave")
    ldap.leave("erin", "servermon-staff")
    make_due(*db.session.scalars(select(User)))
    events = get_redis().pubsub()
    events.subscribe(channel(CHANNEL))
    recheck_directory_accounts()
    db.session.expire_all()
    assert user_named("alice").role == "admin" and user_named("alice").is_active
    assert user_named("bob").role == "customer_engagement"
    assert not user_named("dave").is_active and not user_named("erin").is_active
    for uid, status in (("alice", 200), ("bob", 401), ("dave", 401), ("erin", 401)):
        assert client.get("/api/auth/me", headers=sessions[uid]).status_code == status, uid
    told = set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        message = events.get_message(timeout=0.2)
        if message and message["type"] == "message":
            event = json.loads(message["data"])
            if event["type"] == SESSION_CHECK:
                told.add(event["data"]["user_id"])
    assert told == {user_named(uid).id for uid in ("bob", "dave", "erin")}  # sockets close
    assert actions().count("directory.user_disabled") == 2
    assert "directory.role_changed" in actions()


def test_the_recheck_reads_only_accounts_not_read_lately(app, client, ldap):
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    bearer(api_login(client, "bob", BOB_PW))
    ldap.leave("bob", "servermon-staff")
    recheck_directory_accounts()  # read at sign-in a moment ago: not due
    assert user_named("bob").is_active
    make_due(user_named("bob"))
    recheck_directory_accounts()
    assert not user_named("bob").is_active


def test_the_recheck_with_the_directory_away_changes_nothing(migrated, ldap):
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    with app_on(migrated, **ldap.env()) as app:
        assert app.test_client().post("/api/auth/login", json={
            "username": "bob", "password": BOB_PW}).status_code == 200
    ldap.remove("bob")
    with app_on(migrated, **ldap.env(LDAP_URL=f"ldap://127.0.0.1:{free_port()}")) as app:
        # fresh_app empties the tables: the account is made again, as the sign-in made it
        db.session.add(User(username="bob", email="", role="it_staff", password_hash="!directory",
                            source="directory", directory_dn="uid=bob,ou=people,dc=bank,dc=example"))
        db.session.commit()
        recheck_directory_accounts()
        assert user_named("bob").is_active and user_named("bob").role == "it_staff"


# --- TLS and a directory away -------------------------------------------------------------

def test_starttls_with_the_test_ca_signs_in_and_another_ca_is_refused(migrated, ldap):
    ldap.add_person("alice", ALICE_PW, groups=("servermon-admins",))
    with app_on(migrated, **ldap.env()) as app:
        assert app.test_client().post("/api/auth/login", json={
            "username": "alice", "password": ALICE_PW}).status_code == 200
    for ca in (ldap.wrong_ca_file, None):  # None: the system's CAs, which never signed it
        env = ldap.env(LDAP_CA_FILE=ca) if ca else {k: v for k, v in ldap.env().items()
                                                    if k != "LDAP_CA_FILE"}
        with app_on(migrated, **env) as app:
            response = app.test_client().post("/api/auth/login", json={
                "username": "alice", "password": ALICE_PW})
            assert response.status_code == 503, ca
            assert response.get_json()["error"] == UNAVAILABLE


def test_the_directory_down_is_a_clear_503_and_local_accounts_still_sign_in(migrated, ldap):
    with app_on(migrated, **ldap.env(LDAP_URL=f"ldap://127.0.0.1:{free_port()}")) as app:
        client = app.test_client()
        local = make_user("it_staff", username="local-it")
        response = api_login(client, "alice", ALICE_PW)
        assert response.status_code == 503
        assert response.get_json() == {"error": UNAVAILABLE, "details": {"directory": "unavailable"}}
        page = client.post("/login", data={"username": "alice", "password": ALICE_PW})
        assert page.status_code == 503 and b"directory (LDAP) is unavailable" in page.data
        assert api_login(client, local.username, PASSWORD).status_code == 200
        assert [api_login(client, "alice", ALICE_PW).status_code for _ in range(6)] == [503] * 6


def test_a_directory_that_accepts_and_never_answers_fails_within_the_timeout(migrated, ldap):
    with socket.socket() as silent:  # the kernel completes the handshake; nobody replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        with app_on(migrated, **ldap.env(LDAP_URL=url, LDAP_TIMEOUT_S=1)) as app:
            started = time.monotonic()
            response = app.test_client().post("/api/auth/login", json={
                "username": "alice", "password": ALICE_PW})
            assert response.status_code == 503
            assert time.monotonic() - started < 5


# --- local accounts, profile and administration -------------------------------------------

def test_local_sign_in_can_be_restricted_to_admins(client, ldap):
    admin = make_user("admin", username="breakglass")
    staff = make_user("it_staff", username="local-staff")
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    assert api_login(client, staff.username, PASSWORD).status_code == 200
    update_settings({"local_sign_in_admins_only": True}, admin)
    refused = api_login(client, staff.username, PASSWORD)
    assert refused.status_code == 403 and refused.get_json()["error"] == LOCAL_RESTRICTED
    assert api_login(client, staff.username, "wrong-password").status_code == 401  # no hint
    assert api_login(client, admin.username, PASSWORD).status_code == 200
    assert api_login(client, "bob", BOB_PW).status_code == 200


def test_the_restriction_is_off_without_a_directory(migrated):
    with app_on(migrated) as app:
        staff = make_user("it_staff", username="local-staff")
        update_settings({"local_sign_in_admins_only": True}, None)
        assert api_login(app.test_client(), staff.username, PASSWORD).status_code == 200


def test_a_local_account_is_never_checked_against_a_directory_namesake(client, ldap):
    local = make_user("it_staff", username="alice")
    ldap.add_person("alice", ALICE_PW, groups=("servermon-admins",))
    assert api_login(client, "alice", ALICE_PW).status_code == 401
    assert api_login(client, "alice", PASSWORD).get_json()["user"]["role"] == "it_staff"
    assert user_named("alice").id == local.id and user_named("alice").source == "local"


def test_a_directory_account_cannot_change_its_password_here(client, ldap):
    ldap.add_person("alice", ALICE_PW, groups=("servermon-staff",))
    headers = bearer(api_login(client, "alice", ALICE_PW))
    response = client.patch("/api/auth/me", headers=headers, json={
        "current_password": ALICE_PW, "new_password": "a-brand-new-passphrase-9"})
    assert response.status_code == 400
    assert "new_password" in response.get_json()["details"]
    client.post("/login", data={"username": "alice", "password": ALICE_PW})
    page = client.get("/profile")
    assert b'data-testid="directory-password"' in page.data
    assert b'data-testid="password-form"' not in page.data


def test_administrators_see_the_source_and_cannot_set_a_directory_role(client, ldap):
    admin = make_user("admin", username="breakglass")
    ldap.add_person("bob", BOB_PW, groups=("servermon-staff",))
    bearer(api_login(client, "bob", BOB_PW))
    bob = user_named("bob")
    headers = bearer(api_login(client, admin.username, PASSWORD))
    record = client.get(f"/api/users/{bob.id}", headers=headers).get_json()
    assert record["source"] == "directory"
    refused = client.patch(f"/api/users/{bob.id}", json={"role": "admin"}, headers=headers)
    assert refused.status_code == 400 and set(refused.get_json()["details"]) == {"role"}
    refused = client.patch(f"/api/users/{bob.id}", json={"password": "x-new-long-passphrase-7"},
                           headers=headers)
    assert refused.status_code == 400 and set(refused.get_json()["details"]) == {"password"}
    assert client.patch(f"/api/users/{bob.id}", json={"notify_email": False},
                        headers=headers).status_code == 200
    client.post("/login", data={"username": admin.username, "password": PASSWORD})
    assert b">Directory</span>" in client.get("/admin").data
    form = client.get(f"/admin/users/{bob.id}/edit").data
    assert b'data-testid="directory-account"' in form and b'name="role"' not in form
    saved = post_form(client, f"/admin/users/{bob.id}/edit", {
        "email": "bob@bank.example", "phone": "", "is_active": "on", "notify_email": "on"})
    assert saved.status_code == 302
    assert user_named("bob").role == "it_staff" and user_named("bob").email == "bob@bank.example"
