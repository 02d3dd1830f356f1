"""Real rows through the same service functions the app uses, never hand-written SQL."""

from __future__ import annotations

import itertools

from portal.auth.models import User
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
    spec = ServerSpec(name=name, kind=kind, target=target or default_targets[kind],
                      interval_s=fields.pop("interval_s", 30),
                      timeout_s=fields.pop("timeout_s", 10), **fields)
    return create_server(spec, owner)


def login(client, user: User, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the API and return a bearer header for it."""
    response = client.post("/api/auth/login", json={"username": user.username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}
