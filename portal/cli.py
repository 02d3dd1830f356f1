"""Operator commands: ``flask --app portal users create ...`` and friends."""

from __future__ import annotations

import secrets

import click
from flask import Flask
from flask.cli import AppGroup
from pydantic import ValidationError
from sqlalchemy import func, select

from portal.auth.models import User
from portal.errors import APIError, field_errors
from portal.extensions import db
from portal.rbac import ROLES
from portal.users.schemas import UserCreate
from portal.users.service import create_user

users_cli = AppGroup("users", help="Manage staff accounts.")


def _fail(message: str) -> None:
    raise click.ClickException(message)


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--email", required=True)
@click.option("--phone", default=None, help="International format, e.g. +256700123456.")
def create_command(username: str, password: str, role: str, email: str, phone: str | None) -> None:
    """Create an account with any role (the operator is trusted)."""
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


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
