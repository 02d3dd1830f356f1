"""Operator commands: ``flask --app portal users create ...``, ``audit verify``,
``servers import-blackbox`` and friends."""

from __future__ import annotations

import csv
import json
import math
import secrets
import sys
from pathlib import Path

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
from portal.servers.models import Server
from portal.servers.schemas import ServerSpec
from portal.servers.service import create_server, validate_spec, with_probe_defaults
from portal.users.schemas import UserCreate
from portal.users.service import create_user
from wire import blackbox

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


servers_cli = AppGroup("servers", help="Manage the server registry.")

TARGET_COLUMNS = ("name", "target", "module")
OPTIONAL_COLUMNS = ("group", "environment")
JSON_SETTINGS = ("http_headers", "tcp_query_response")


def _target_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV with a header line; lines starting with # are comments."""
    with path.open(newline="") as handle:
        # A comment becomes a blank line, which csv skips while still counting it.
        reader = csv.DictReader("\n" if line.lstrip().startswith("#") else line
                                for line in handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in TARGET_COLUMNS if name not in header]
        unknown = [name for name in header if name not in (*TARGET_COLUMNS, *OPTIONAL_COLUMNS)]
        if missing or unknown:
            _fail(f"--targets: the header must name {', '.join(TARGET_COLUMNS)} and optionally "
                  f"{', '.join(OPTIONAL_COLUMNS)}; "
                  + "; ".join([*(f"missing {n}" for n in missing),
                               *(f"unknown column {n!r}" for n in unknown)]))
        reader.fieldnames = header
        rows = []
        for row in reader:
            rows.append((reader.line_num, {key: (value or "").strip()
                                           for key, value in row.items() if key is not None}))
        return rows


def _spec_for(row: dict[str, str], modules: dict[str, blackbox.Module]) -> ServerSpec:
    """The server a row describes, checked as the API checks a create (APIError if not)."""
    try:
        module = blackbox.lookup(modules, row["module"])
    except ValueError as exc:
        raise APIError(400, "invalid module", {"module": str(exc)}) from None
    target, settings = module.probe_target(row["target"])
    data: dict[str, object] = {"name": row["name"], "kind": module.kind, "target": target,
                               **settings}
    for name in JSON_SETTINGS:  # text in SD and /probe, JSON values in the API
        if name in data:
            data[name] = json.loads(str(data[name]))
    for name in OPTIONAL_COLUMNS:
        if row.get(name):
            data[name] = row[name]
    if module.timeout_s is not None:
        data["timeout_s"] = max(1, math.ceil(module.timeout_s))
    return validate_spec(with_probe_defaults(data))


def _name_taken(name: str) -> bool:
    return db.session.scalar(select(Server.id).where(func.lower(Server.name) == name.lower())) \
        is not None


@servers_cli.command("import-blackbox")
@click.option("--config", "config_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The blackbox.yml the targets' modules come from (default: servermon's "
                   "modules, those of Debian's /etc/prometheus/blackbox.yml it can probe).")
@click.option("--targets", "targets_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with a header: name,target,module[,group,environment]; target as "
                   "blackbox's (for a DNS module, the resolver).")
@click.option("--apply", is_flag=True, help="Create the servers; without it, only report.")
def import_blackbox_command(config_path: Path | None, targets_path: Path, apply: bool) -> None:
    """Register the servers a blackbox_exporter setup probes, one per CSV line.

    Each line is checked as the API checks a new server (the same validation, audit row and
    exporter notice); a name already registered, or twice in the file, is refused. A dry
    run by default. With --apply, nothing is created unless every line is accepted.
    """
    try:
        modules = blackbox.load(config_path) if config_path else blackbox.default_modules()
    except blackbox.BlackboxError as exc:
        _fail(f"--config: {'; '.join(exc.problems)}")
    planned: list[tuple[int, ServerSpec, str]] = []
    refused = 0
    seen: set[str] = set()
    for line, row in _target_rows(targets_path):
        shown = row.get("name") or "(no name)"
        try:
            spec = _spec_for(row, modules)
            if spec.name.lower() in seen:
                raise APIError(409, "duplicate", {"name": "appears earlier in the file"})
            if _name_taken(spec.name):
                raise APIError(409, "duplicate", {"name": "a server with that name exists"})
        except APIError as exc:
            refused += 1
            reasons = "; ".join(f"{k}: {v}" for k, v in exc.details.items()) or exc.message
            click.echo(f"line {line}: {shown}: refused: {reasons}")
            continue
        seen.add(spec.name.lower())
        planned.append((line, spec, row["module"]))
        click.echo(f"line {line}: {spec.name}: {'accepted' if apply else 'would create'} "
                   f"{spec.kind} {spec.target} (module {row['module']})")
    if refused:
        click.echo(f"{refused} line(s) refused; nothing was created. Fix them and run again.",
                   err=True)
        raise SystemExit(1)
    if not apply:
        click.echo(f"dry run: {len(planned)} server(s) would be created; add --apply to "
                   "create them")
        return
    for done, (line, spec, _module) in enumerate(planned):
        try:
            server = create_server(spec, None)
        except APIError as exc:  # taken meanwhile, or its owner removed
            reasons = "; ".join(f"{k}: {v}" for k, v in exc.details.items()) or exc.message
            _fail(f"line {line}: {spec.name}: refused: {reasons} ({done} created before it)")
        click.echo(f"line {line}: created {server.name} with id {server.id}")
    click.echo(f"created {len(planned)} server(s)")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(servers_cli)
