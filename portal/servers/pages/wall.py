"""Wall mode: the whole enabled fleet on a screen an operations room watches from across
the room, grouped by environment (or group), problems first in each, kept current and
in order by the live feed. No controls and no navigation: nothing on it needs a hand."""

from __future__ import annotations

from flask import render_template, request
from markupsafe import Markup

from portal.auth.guard import requires
from portal.dbtypes import utcnow
from portal.servers import page_cache
from portal.servers.listing import by_severity, dashboard_view, live_items
from portal.servers.pages import bp, fleet_context
from portal.servers.schemas import ServerQuery
from portal.servers.status import SEVERITY

WALL_BY = {"environment": ("environment", "No environment"), "group": ("group", "No group")}
WALL_TTL_S = 5.0  # as the dashboard's tiles: the snapshot a second later brings it to now


def grouped(items: list[dict], field: str, missing: str) -> list[dict]:
    """Sections of servers sharing ``field``: the worst first, then by name; inside each,
    problems first (the order ``items`` comes in)."""
    rank = {name: position for position, name in enumerate(SEVERITY)}
    sections: dict[str, list[dict]] = {}
    for item in items:
        sections.setdefault(item.get(field) or missing, []).append(item)
    ordered = sorted(sections.items(), key=lambda pair: (
        min(rank.get(item["status"], len(rank)) for item in pair[1]), pair[0].lower()))
    return [{"name": name, "items": members,
             "problems": sum(item["status"] != "up" for item in members)}
            for name, members in ordered]


@bp.get("/wall")
@requires("status.view", page=True)
def wall():
    by = request.args.get("by", "environment")
    if by not in WALL_BY:
        by = "environment"
    args = ServerQuery.model_validate({"enabled": True})
    key = ("wall", args.model_dump_json())
    view = page_cache.cached(key, lambda: dashboard_view(args, whole=True),
                             background=page_cache.in_background)

    def board() -> Markup:
        field, missing = WALL_BY[by]
        sections = grouped(by_severity(live_items(view["result"]["items"])), field, missing)
        html = render_template("servers/_wall_board.html", sections=sections, **fleet_context())
        return Markup(html)  # noqa: S704 - an autoescaped template's output

    return render_template(
        "servers/wall.html", by=by, counts=view["counts"], statuses=SEVERITY,
        total=view["result"]["total"], now_iso=utcnow().isoformat(),
        board=page_cache.cached(("wall-board", by), board, WALL_TTL_S, page_cache.in_background),
    )
