"""Prometheus HTTP service discovery: ``/api/sd/targets`` for the exporter, ``/api/sd/nodes``
for Prometheus's resources job; both behind SD_TOKEN.

Targets: one group per enabled server. Public labels (``server_id``, ``server``, ``kind``,
``environment``, ``group`` and the server's own) end up on every metric; the probe's
settings travel as ``__meta_servermon_*`` labels, which Prometheus drops after
relabelling but the exporter reads; the secrets among them (``wire.SECRET_SETTINGS``)
go as the sealed text their columns hold, so Prometheus never has the plaintext. The
answer names this deployment (``DEPLOYMENT_HEADER``), so the exporter can tell when its
Redis database is another's.

Nodes: one group per enabled server with a ``resources_endpoint``, its node_exporter or
windows_exporter, which Prometheus scrapes itself (job ``servermon-nodes``). Its labels
are the ones resource rules and pages match on: ``server_id``, ``server``, ``instance``
(the server's name, as the probe series have it), ``exporter`` (``node``/``windows``),
``environment``, ``group`` and the server's own labels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import raiseload

from portal.auth.guard import check_bearer, public
from portal.extensions import db
from portal.servers import registry_cache
from portal.servers.heartbeat_schedule import schedule_of
from portal.servers.models import Server
from portal.settings.service import load_settings
from wire import DEPLOYMENT_HEADER, HEARTBEAT_ADDRESS, META_PREFIX, SD_SETTINGS
from wire.heartbeat import SCHEDULE_SETTINGS

bp = Blueprint("sd_api", __name__, url_prefix="/api/sd")


def _meta_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else str(value)


def target_group(server: Server, timezone: str = "UTC") -> dict:
    """``timezone``: the setting a heartbeat's cron expression is read in."""
    labels = dict(server.label_map)
    labels.update(server_id=str(server.id), server=server.name, kind=server.kind)
    if server.environment:
        labels["environment"] = server.environment
    if server.group_name:
        labels["group"] = server.group_name
    for name in SD_SETTINGS:
        labels[f"{META_PREFIX}{name}"] = _meta_value(getattr(server, name))
    if server.kind != "heartbeat":
        return {"targets": [server.target], "labels": labels}
    planned = schedule_of(server, ZoneInfo(timezone))
    schedule = {"heartbeat_period_s": planned.period_s, "heartbeat_cron": planned.cron,
                "heartbeat_grace_s": planned.grace_s, "heartbeat_since": planned.since,
                "heartbeat_timezone": timezone}
    for name in SCHEDULE_SETTINGS:
        labels[f"{META_PREFIX}{name}"] = _meta_value(schedule[name])
    return {"targets": [HEARTBEAT_ADDRESS.format(server_id=server.id)], "labels": labels}


# Labels of the series node_exporter and windows_exporter expose that the resource rules
# and pages read. A server label of one of these names is left off the nodes group: as a
# target label it would win (honor_labels: false), rename the exporter's own to
# exported_<name> and fold, say, every network device of the host into one series.
EXPORTER_SERIES_LABELS = frozenset({
    "cpu", "mode", "device", "fstype", "mountpoint", "collector", "sysname", "release",
    "version", "machine", "nodename", "domainname", "core", "volume", "nic", "product",
    "build_number", "hostname",
})


def node_group(server: Server) -> dict:
    """The server's exporter as Prometheus scrapes it, labelled as its probe series are."""
    labels = {key: value for key, value in server.label_map.items()
              if key not in EXPORTER_SERIES_LABELS}
    labels.update(server_id=str(server.id), server=server.name, instance=server.name,
                  exporter=server.resources_exporter)
    if server.environment:
        labels["environment"] = server.environment
    if server.group_name:
        labels["group"] = server.group_name
    return {"targets": [server.resources_endpoint], "labels": labels}


def _answer(kind: str, groups: Callable[[str], list[dict]]) -> Response:
    """``groups(timezone)`` as JSON, built once per change of the registry in each portal
    process (14 MB and a second of CPU at 10,000 servers)."""
    timezone = load_settings().timezone
    body = registry_cache.cached(
        ("sd", kind, timezone),
        lambda: json.dumps(groups(timezone), separators=(",", ":")).encode())
    return current_app.response_class(body, mimetype="application/json")


def _enabled() -> Select:
    """Enabled servers with their labels, without the owner and the status the model loads
    with them everywhere else: the answer uses neither (and reading one raises, rather than
    costing a query per server)."""
    return (select(Server).where(Server.enabled.is_(True)).order_by(Server.id)
            .options(raiseload(Server.owner), raiseload(Server.state)))


@bp.get("/targets")
@public("checked against SD_TOKEN")
def targets():
    config = current_app.config["SERVERMON"]
    check_bearer(config.sd_token, "service discovery")
    response = _answer("targets", lambda timezone: [
        target_group(server, timezone) for server in db.session.scalars(_enabled())])
    response.headers[DEPLOYMENT_HEADER] = config.deployment
    return response


@bp.get("/nodes")
@public("checked against SD_TOKEN")
def nodes():
    """The resources job's targets. Prometheus asks again every refresh_interval (30 s
    committed), so a new endpoint is scraped that long after it is saved."""
    check_bearer(current_app.config["SERVERMON"].sd_token, "service discovery")
    return _answer("nodes", lambda _timezone: [node_group(server) for server in db.session.scalars(
        _enabled().where(Server.resources_endpoint.is_not(None)))])
