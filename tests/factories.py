"""Real rows through the same service functions the app uses, never hand-written SQL."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from portal.auth.models import User
from portal.extensions import db
from portal.incidents.models import Incident
from portal.servers.ingest import StateChange, record_change
from portal.servers.schemas import ServerSpec
from portal.servers.service import create_server
from portal.users.schemas import UserCreate
from portal.users.service import create_user

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_user(role: str = "admin", *, username: str | None = None, password: str = PASSWORD,
              **fields: object) -> User:
    username = username or f"{role.replace('_', '-')}-{next(_seq)}"
    data = UserCreate(username=username, password=password, role=role,
                      email=f"{username}@bank.example", **fields)
    return create_user(None, data)


def make_server(name: str | None = None, *, kind: str = "http", target: str | None = None,
                owner: User | None = None, **fields: object):
    name = name or f"server-{next(_seq)}"
    default_targets = {
        "http": f"https://{name}.bank.example/health",
        "tcp": f"{name}.bank.example:443",
        "icmp": f"{name}.bank.example",
        "dns": f"{name}.bank.example",
    }
    if kind == "heartbeat":
        fields.setdefault("heartbeat_period_s", 3600)
    spec = ServerSpec(name=name, kind=kind, target=target or default_targets.get(kind),
                      interval_s=fields.pop("interval_s", 30),
                      timeout_s=fields.pop("timeout_s", 10), **fields)
    return create_server(spec, owner)


def login(client, user: User, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the API and return a bearer header for it."""
    response = client.post("/api/auth/login", json={"username": user.username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def make_incident(server, start: datetime, end: datetime | None = None, name: str = "ServerDown",
                  severity: str = "critical", **fields: object) -> Incident:
    """An incident as the webhook leaves it, without going through Alertmanager."""
    incident = Incident(fingerprint=f"fp-{server.id}-{start.timestamp()}-{name}", alert_started_at=start,
                        alertname=name, severity=severity, server_id=server.id, server_name=server.name,
                        started_at=start, ended_at=end, labels={}, **fields)
    db.session.add(incident)
    db.session.commit()
    return incident


def record_state(server, status: str, at: datetime, reason: str | None = None) -> None:
    """A state change as the exporter's stream delivers it, stored by the ingest code."""
    record_change(StateChange(event_id=f"ev-{server.id}-{next(_seq):08d}", server_id=server.id,
                              status=status, previous="up" if status == "down" else "down",
                              reason=reason, latency_ms=12.5, at=at,
                              last_ok_at=at - timedelta(seconds=30)))
