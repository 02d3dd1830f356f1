"""flask --app portal users ...: the operator's commands."""

import os
import subprocess
import sys
from pathlib import Path

from portal.auth.models import User
from portal.auth.passwords import verify_password
from portal.extensions import db
from tests.conftest import ROOT, TEST_REDIS_URL


def test_users_create_makes_an_account(runner):
    result = runner.invoke(args=["users", "create", "--username", "ops", "--password",
                                 "a-strong-password", "--role", "it_staff", "--email",
                                 "ops@bank.example", "--phone", "+256700000009"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.username == "ops"))
    assert user.role == "it_staff" and user.phone == "+256700000009"


def test_users_create_names_the_bad_field(runner):
    result = runner.invoke(args=["users", "create", "--username", "ops", "--password", "short",
                                 "--role", "it_staff", "--email", "ops@bank.example"])
    assert result.exit_code != 0
    assert "password" in result.output


def test_ensure_admin_prints_a_password_once(runner):
    first = runner.invoke(args=["users", "ensure-admin"])
    assert "password:" in first.output
    second = runner.invoke(args=["users", "ensure-admin"])
    assert second.output == ""
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


CREATE = ["users", "create", "--username", "ops", "--role", "it_staff",
          "--email", "ops@bank.example"]


def _user(username: str = "ops") -> User | None:
    return db.session.scalar(db.select(User).where(User.username == username))


def _can_log_in(password: str) -> bool:
    return verify_password(_user().password_hash, password)


def test_users_create_reads_the_password_from_the_first_line_of_stdin(runner):
    result = runner.invoke(args=[*CREATE, "--password-stdin"],
                           input="a strong password\nnot this line\n")
    assert result.exit_code == 0, result.output
    assert _can_log_in("a strong password")
    assert "a strong password" not in result.output


def test_users_create_asks_for_the_password_twice_without_echoing_it(runner):
    result = runner.invoke(args=CREATE, input="a-strong-password\na-strong-password\n")
    assert result.exit_code == 0, result.output
    assert _can_log_in("a-strong-password")
    assert "a-strong-password" not in result.output


def test_users_create_refuses_two_different_prompted_passwords(runner):
    result = runner.invoke(args=CREATE, input="a-strong-password\nanother-password\n")
    assert result.exit_code != 0
    assert "password: the two entries do not match" in result.output
    assert _user() is None


def test_users_create_refuses_a_short_prompted_password_naming_the_field(runner):
    result = runner.invoke(args=CREATE, input="short\nshort\n")
    assert result.exit_code != 0
    assert "password:" in result.output
    assert _user() is None


def test_users_create_refuses_password_and_password_stdin_together(runner):
    result = runner.invoke(args=[*CREATE, "--password", "a-strong-password", "--password-stdin"],
                           input="a-strong-password\n")
    assert result.exit_code == 2
    assert "--password and --password-stdin" in result.output
    assert _user() is None


SECRET_NAMES = ("SECRET_KEY", "SD_TOKEN", "ALERTMANAGER_WEBHOOK_TOKEN", "PROBE_SECRETS_KEY",
                "SERVERMON_SECRETS_DIR")


def test_an_operator_creates_a_user_from_the_checkout_with_script_servers_secrets(
        app, migrated, tmp_path):
    secrets = {"secret_key": "k" * 64, "sd_token": "s" * 32, "alertmanager_webhook_token": "a" * 32,
               "probe_secrets_key": "p" * 64}
    (tmp_path / "var" / "secrets").mkdir(parents=True)
    for name, value in secrets.items():
        (tmp_path / "var" / "secrets" / name).write_text(value + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_NAMES)}
    env.update({"DATABASE_URL": migrated, "REDIS_URL": TEST_REDIS_URL, "PYTHONPATH": str(ROOT)})
    flask = Path(sys.executable).parent / "flask"
    result = subprocess.run(
        [str(flask), "--app", "portal", "users", "create", "--username", "operator",
         "--role", "it_staff", "--email", "operator@bank.example", "--password-stdin"],
        input="night-shift-lantern-47\n", capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "created user operator (it_staff)" in result.stdout
    for leaked in ("night-shift-lantern-47", *secrets.values()):
        assert leaked not in output
    db.session.remove()  # a fresh session, to see the other process's commit
    assert verify_password(_user("operator").password_hash, "night-shift-lantern-47")
