"""The server pages, one module each: the dashboard, the server list (``catalogue``), a
server's page (``detail``), the add/edit/delete forms (``forms``), and the Logs page
(``logs``, a blueprint of its own). They read through the same service functions as the
API, so a page shows and accepts exactly what the API would.
"""

from __future__ import annotations

from flask import Blueprint, request, url_for
from pydantic import ValidationError

from portal.dbtypes import utcnow
from portal.errors import field_errors
from portal.servers.fleet import cert_days, heartbeat_bar
from portal.servers.schemas import ServerQuery
from portal.web.formatting import localtime
from wire import HEARTBEATS

bp = Blueprint("server_pages", __name__, template_folder="../templates")

KIND_LABELS = {"http": "HTTP(S)", "tcp": "TCP port", "icmp": "Ping (ICMP)", "dns": "DNS lookup",
               "heartbeat": "Heartbeat (a job pings us)"}


def filters_from_args(**fixed: object) -> tuple[ServerQuery, str | None]:
    """Filters from the query string; blank inputs mean "any", a bad one is reported, not fatal."""
    data: dict[str, object] = {}
    for key in ServerQuery.model_fields:
        if key == "label":
            pairs = [part.strip() for raw in request.args.getlist("label")
                     for part in raw.split(",") if part.strip()]
            if pairs:
                data["label"] = pairs
        elif request.args.get(key, "").strip():
            data[key] = request.args[key].strip()
    data.update(fixed)
    try:
        return ServerQuery.model_validate(data), None
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {message}" for field, message in field_errors(exc).items())
        return ServerQuery.model_validate(fixed), f"Filters ignored: {problems}"


def fleet_context() -> dict:
    """What the fleet cells' template needs besides the servers (the dashboard's fleet view
    and the wall)."""
    return {"heartbeat_bar": heartbeat_bar, "cert_days": cert_days, "heartbeats": HEARTBEATS,
            "today": localtime(utcnow(), "%Y-%m-%d"),
            # url_for once, not per cell: "/servers/0" less its last character
            "server_url": url_for("server_pages.server_detail", server_id=0)[:-1]}


from portal.servers.pages import catalogue, dashboard, detail, forms, wall  # noqa: E402, F401 - routes join bp
