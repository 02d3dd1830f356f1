"""Which server depends on which: a server may depend on one other (its switch, host,
database or site gateway), and that one on another, never in a cycle.

What a dependency does to paging is the incidents area's (portal/incidents/dependants.py);
here are the links themselves: checked when saved, followed up (ancestors) and down
(dependants) with one query per level.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.errors import APIError
from portal.extensions import db
from portal.servers.models import Server

MAX_DEPTH = 32  # a chain deeper than this is refused as if it were a cycle


def _bad(message: str) -> APIError:
    return APIError(400, f"invalid value for depends_on_id: {message}",
                    {"depends_on_id": message})


def check_dependency(server_id: int | None, parent_id: int | None) -> None:
    """400 naming ``depends_on_id`` for a parent that is missing, the server itself, or
    one that (through its own parents) depends on this server."""
    if parent_id is None:
        return
    if parent_id == server_id:
        raise _bad("a server cannot depend on itself")
    parents = dict(db.session.execute(select(Server.id, Server.depends_on_id)).all())
    if parent_id not in parents:
        raise _bad(f"no server with id {parent_id}")
    chain, current = [parent_id], parents[parent_id]
    while current is not None:
        chain.append(current)
        if current == server_id or len(chain) > MAX_DEPTH:
            names = dict(db.session.execute(select(Server.id, Server.name).where(
                Server.id.in_([server_id, *chain]))).all())
            path = " -> ".join(names.get(i, str(i)) for i in [server_id, *chain])
            raise _bad(f"would make a cycle ({path})" if current == server_id
                       else f"the chain is deeper than {MAX_DEPTH} servers")
        current = parents.get(current)


def ancestors(server: Server) -> list[Server]:
    """Its parent, the parent's parent, and so on (nearest first)."""
    found: list[Server] = []
    seen = {server.id}
    current = server.depends_on_id
    while current is not None and current not in seen and len(found) < MAX_DEPTH:
        parent = db.session.get(Server, current)
        if parent is None:
            break
        found.append(parent)
        seen.add(parent.id)
        current = parent.depends_on_id
    return found


def dependants(server_id: int) -> list[Server]:
    """Every server that depends on it, directly or through others, by name."""
    found: dict[int, Server] = {}
    level = [server_id]
    for _ in range(MAX_DEPTH):  # cycles are refused when saved; the bound is a guard
        if not level:
            break
        children = [child for child in db.session.scalars(select(Server).where(
            Server.depends_on_id.in_(level))) if child.id not in found and child.id != server_id]
        found.update((child.id, child) for child in children)
        level = [child.id for child in children]
    return sorted(found.values(), key=lambda server: server.name.lower())
