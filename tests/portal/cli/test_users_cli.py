"""flask --app portal users ...: the operator's commands."""

from portal.auth.models import User
from portal.extensions import db


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
