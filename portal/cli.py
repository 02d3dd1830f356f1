"""Operator commands: ``flask --app portal users create ...``, ``audit verify`` and friends."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask
from flask.cli import AppGroup
from pydantic import ValidationError
from sqlalchemy import func, select

from portal.audit.service import verify
from portal.auth.models import User
from portal.errors import APIError, field_errors
from portal.extensions import db
from portal.rbac import ROLES
from portal.users.schemas import UserCreate
from portal.users.service import create_user

users_cli = AppGroup("users", help="Manage staff accounts.")


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _read_password(password: str | None, from_stdin: bool) -> str:
    """The password from the flag, the first line of stdin, or a hidden prompt asked twice.

    Stdin and the prompt keep it out of shell history and ``ps``. Only the line ending is
    taken off stdin's line, as ``docker login --password-stdin`` does.
    """
    if password is not None and from_stdin:
        raise click.UsageError("--password and --password-stdin cannot be used together")
    if password is not None:
        return password
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    first = click.prompt("Password", hide_input=True)
    if click.prompt("Repeat the password", hide_input=True) != first:
        _fail("password: the two entries do not match")
    return first


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--password", default=None,
              help="At least 12 characters, not easy to guess. Visible in shell history and "
                   "ps: prefer the prompt (no password option) or --password-stdin.")
@click.option("--password-stdin", "password_stdin", is_flag=True,
              help="Read the password from the first line of stdin.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--email", required=True)
@click.option("--phone", default=None, help="International format, e.g. +256700123456.")
def create_command(username: str, password: str | None, password_stdin: bool, role: str,
                   email: str, phone: str | None) -> None:
    """Create an account with any role (the operator is trusted)."""
    password = _read_password(password, password_stdin)
    try:
        data = UserCreate(username=username, password=password, role=role, email=email, phone=phone)
        user = create_user(None, data)
    except ValidationError as exc:
        _fail("; ".join(f"{field}: {msg}" for field, msg in field_errors(exc).items()))
    except APIError as exc:
        _fail(f"{exc.message} ({', '.join(exc.details)})")
    click.echo(f"created user {user.username} ({user.role}) with id {user.id}")


@users_cli.command("ensure-admin")
@click.option("--username", default="admin")
@click.option("--email", default="admin@servermon.localdomain")
def ensure_admin_command(username: str, email: str) -> None:
    """First start: create an admin with a random password, printed once; else do nothing."""
    if db.session.scalar(select(func.count(User.id))) > 0:
        return
    password = secrets.token_urlsafe(12)
    create_user(None, UserCreate(username=username, password=password, role="admin", email=email))
    click.echo("=" * 64)
    click.echo("First administrator created. This password is shown only once:")
    click.echo(f"  username: {username}")
    click.echo(f"  password: {password}")
    click.echo("=" * 64)


audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute the chain; exit 1 naming the first row edited, deleted or out of place."""
    verdict = verify()
    if not verdict.ok:
        click.echo(f"audit trail broken: {verdict.problem} ({verdict.rows} rows verified "
                   "before it)", err=True)
        raise SystemExit(1)
    click.echo(f"audit trail intact: {verdict.rows} rows, head {verdict.head_hash or '(empty)'}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
