"""What a label selector (``environment=production``) matches: the server's own labels
plus its environment, group and kind. Maintenance windows, list filters and the status
rules all select servers this way, in Python and in SQL alike."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select

from portal.extensions import db
from portal.servers.models import Server, ServerLabel

# The built-in labels a selector may name, and the column each one is kept in.
BUILTIN_LABELS = {"environment": "environment", "group": "group_name", "kind": "kind"}


def label_view(item: dict) -> dict[str, str]:
    """The labels a selector can match, from a serialized server."""
    labels = dict(item.get("labels") or {})
    for key in BUILTIN_LABELS:
        value = item.get(key)
        if value:
            labels[key] = value
    return labels


def server_label_view(server: Server) -> dict[str, str]:
    """The same, from a server row."""
    labels = dict(server.label_map)
    for key, column in BUILTIN_LABELS.items():
        value = getattr(server, column)
        if value:
            labels[key] = value
    return labels


def label_condition(key: str, value: str):
    """SQL: the server carries label ``key`` with ``value``.

    coalesce: a server without the label must compare false, not NULL, so that the
    negation of a condition built on this holds for it too (see status.condition).
    """
    if key in BUILTIN_LABELS:
        column = getattr(Server, BUILTIN_LABELS[key])
        return column == value if key == "kind" else func.coalesce(column, "") == value
    return exists().where(
        and_(ServerLabel.server_id == Server.id, ServerLabel.key == key, ServerLabel.value == value)
    )


def labels_for(server_ids: list[int]) -> dict[int, dict[str, str]]:
    """The free labels of many servers in one query."""
    labels: dict[int, dict[str, str]] = {server_id: {} for server_id in server_ids}
    if server_ids:
        rows = db.session.execute(
            select(ServerLabel.server_id, ServerLabel.key, ServerLabel.value)
            .where(ServerLabel.server_id.in_(server_ids)).order_by(ServerLabel.key)
        )
        for server_id, key, value in rows:
            labels[server_id][key] = value
    return labels
