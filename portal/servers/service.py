"""The server registry: adding, changing and removing servers, for the API, the pages
and the operator alike. Every change is checked by one model (``ServerSpec``), so a page
can accept nothing the API would refuse, and announced to the exporter at once."""

from __future__ import annotations

import json
import logging

import redis
from flask import current_app
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.audit.service import changes as audit_changes
from portal.audit.service import record, target_of
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.lookups import get_or_404
from portal.redis_client import channel, get_redis
from portal.servers import page_cache
from portal.servers.dependencies import check_dependency
from portal.servers.models import Server, ServerLabel, ServerStatus
from portal.servers.ping_keys import drop_key, issue_key
from portal.servers.schemas import HEARTBEAT_FIELDS, SPEC_COLUMNS, ServerSpec, spec_errors
from portal.servers.secrets import open_secrets, sealed
from portal.settings.service import load_settings
from wire import SECRET_SETTINGS, TARGETS_CHANNEL, split_host_port
from wire.probe_policy import destination, literal_address

log = logging.getLogger(__name__)


def get_server_or_404(server_id: int) -> Server:
    return get_or_404(Server, server_id, "server")


def validate_spec(data: dict, current: dict | None = None) -> ServerSpec:
    """A create, or an edit merged over ``spec_of`` the server (``current``, which keeps a
    secret sent back as ``{"set": true}``); 400 naming every bad field. The spec holds the
    secrets in plaintext; ``_apply`` seals them into their columns."""
    data = open_secrets(data, current)
    try:
        spec = ServerSpec.model_validate(data)
    except ValidationError as exc:
        details = spec_errors(exc, data)
        raise APIError(400, f"invalid value for {', '.join(details)}", details) from exc
    _check_probe_policy(spec)
    return spec


def _check_probe_policy(spec: ServerSpec) -> None:
    """A literal address the probe policy denies is refused here, as the form is filled in.

    A name is left to the exporter, which checks what it resolves to at every probe (and
    before "test now"): resolving it here would prove nothing about the next minute. The
    resources endpoint is held to the same policy: Prometheus, inside the same network,
    connects there at every scrape.
    """
    problems: dict[str, str] = {}
    where = destination(spec.kind, spec.target, spec.dns_resolver)
    if where is not None:
        reason = _refusal(*where)
        if reason:
            problems["dns_resolver" if spec.kind == "dns" else "target"] = f"not probed: {reason}"
    if spec.resources_endpoint:
        reason = _refusal(*split_host_port(spec.resources_endpoint))
        if reason:
            problems["resources_endpoint"] = f"not scraped: {reason}"
    if problems:
        raise APIError(400, f"invalid value for {', '.join(problems)}", problems)


def _refusal(host: str, port: int | None) -> str | None:
    """Why the policy denies ``host`` when it is an address (or localhost), else None."""
    local_name = host.lower().rstrip(".")
    ip = "127.0.0.1" if local_name == "localhost" or local_name.endswith(".localhost") \
        else literal_address(host)
    if ip is None:
        return None
    return current_app.config["SERVERMON"].probe_policy.refusal(ip, port)


def with_probe_defaults(data: dict) -> dict:
    """The settings' probe interval and timeout, where ``data`` gives none."""
    settings = load_settings()
    return {"interval_s": settings.probe_interval_s, "timeout_s": settings.probe_timeout_s, **data}


def spec_of(server: Server) -> dict:
    """The server as the fields a client sends, for merging an edit into; its secrets as
    their sealed text, which ``validate_spec`` opens (and nothing may show)."""
    data = {name: getattr(server, name) for name in SPEC_COLUMNS}
    data["group"] = server.group_name
    data["labels"] = server.label_map
    return data


def _apply(server: Server, spec: ServerSpec) -> None:
    stored_target = server.target  # before the loop changes it: the stored secrets' target
    schedule = tuple(getattr(server, name) for name in (*HEARTBEAT_FIELDS, "kind"))
    for name in SPEC_COLUMNS:
        value = getattr(spec, name)
        if name in SECRET_SETTINGS:
            value = sealed(name, value, getattr(server, name), target=spec.target,
                           stored_target=stored_target)
        setattr(server, name, value)
    server.group_name = spec.group
    current = {label.key: label for label in server.labels}
    for key in set(current) - set(spec.labels):
        server.labels.remove(current[key])
    for key, value in spec.labels.items():
        if key in current:
            current[key].value = value
        else:
            server.labels.append(ServerLabel(key=key, value=value))
    _apply_heartbeat(server, schedule)


def _apply_heartbeat(server: Server, schedule_before: tuple) -> None:
    """A heartbeat gets a ping key, and its schedule holds from now when it is new or
    changed (a job not yet pinged since is late a period and a grace from here); another
    kind keeps no key, so its old URL answers 404."""
    if server.kind != "heartbeat":
        drop_key(server)
        server.heartbeat_since = None
        return
    if server.ping_key_hash is None:
        issue_key(server)
    schedule = tuple(getattr(server, name) for name in (*HEARTBEAT_FIELDS, "kind"))
    if schedule != schedule_before or server.heartbeat_since is None:
        server.heartbeat_since = utcnow()


def _check_owner(spec: ServerSpec) -> None:
    if spec.owner_id is not None and db.session.get(User, spec.owner_id) is None:
        raise APIError(400, "invalid value for owner_id", {"owner_id": "no such user"})


def _check_name_free(name: str, exclude_id: int | None = None) -> None:
    query = select(Server.id).where(func.lower(Server.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Server.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise APIError(409, "a server with that name exists", {"name": "already exists"})


def _commit(action: str, server: Server, before: dict | None) -> None:
    """Commit with the change's audit row; a name taken meanwhile is a 409."""
    try:
        db.session.flush()
        after = spec_of(server)
        old, new = audit_changes(before or {}, after) if before is not None else (None, after)
        if new or before is None:
            record(action, target_of("server", server), before=old, after=new)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise APIError(409, "a server with that name exists", {"name": "already exists"}) from exc


def create_server(spec: ServerSpec, owner: User | None) -> Server:
    _check_owner(spec)
    _check_name_free(spec.name)
    check_dependency(None, spec.depends_on_id)
    server = Server()
    _apply(server, spec)
    if server.owner_id is None and owner is not None:
        server.owner_id = owner.id
    server.state = ServerStatus(status="unknown")
    db.session.add(server)
    _commit("server.created", server, None)
    announce_change(server.id, "created")
    return server


def update_server(server: Server, spec: ServerSpec) -> Server:
    _check_owner(spec)
    _check_name_free(spec.name, exclude_id=server.id)
    check_dependency(server.id, spec.depends_on_id)
    before = spec_of(server)
    _apply(server, spec)
    # A label edit alone changes no column of the server's row: say it changed, since
    # service discovery's answer is rebuilt only when the newest updated_at moves.
    server.updated_at = utcnow()
    _commit("server.updated", server, before)
    announce_change(server.id, "updated")
    return server


def rotate_ping_key(server: Server) -> str:
    """A new ping URL for a heartbeat server; the old one is a 404 from the commit on."""
    if server.kind != "heartbeat":
        raise APIError(409, "only a heartbeat server has a ping URL", {"kind": server.kind})
    key = issue_key(server)
    record("server.ping_key_rotated", target_of("server", server))
    db.session.commit()
    return key


def delete_server(server: Server) -> None:
    server_id = server.id
    target, before = target_of("server", server), spec_of(server)
    db.session.delete(server)
    record("server.deleted", target, before=before)
    db.session.commit()
    announce_change(server_id, "deleted")


def announce_change(server_id: int, action: str) -> None:
    """Best effort: the exporter also polls service discovery, so a lost notice only delays."""
    page_cache.bump(page_cache.GENERATION_KEY, page_cache.TARGETS_GENERATION_KEY)
    try:
        get_redis().publish(channel(TARGETS_CHANNEL),
                            json.dumps({"server_id": server_id, "action": action}))
    except redis.RedisError as exc:
        log.warning("could not announce server %s %s: %s", server_id, action, exc)
