"""Grafana through grafana-client: health for the Admin page, dashboard links by uid, and
incident annotations pushed by the worker (retried there, so an unreachable Grafana
never slows a webhook)."""

from __future__ import annotations

import contextlib
import logging
from urllib.parse import urlencode

import redis
from flask import current_app, g
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from portal.extensions import db
from portal.incidents.models import Incident
from portal.jobs.broker import send
from portal.redis_client import get_redis

log = logging.getLogger(__name__)

OVERVIEW_UID = "servermon-overview"
SERVER_UID = "servermon-server"
LINK_TTL_S = 600
MISS_TTL_S = 60
TIMEOUT_S = 5


def client() -> GrafanaApi | None:
    config = current_app.config["SERVERMON"]
    if not config.grafana_url:
        return None
    return GrafanaApi.from_url(config.grafana_url, credential=config.grafana_token,
                               timeout=TIMEOUT_S)


def health() -> dict:
    """Build info when Grafana answers; raises when it does not (the caller reports it)."""
    api = client()
    if api is None:
        return {"configured": False}
    info = api.health.check() or {}
    return {"configured": True, "version": info.get("version"), "edition": info.get("edition")}


def dashboard_path(uid: str) -> str | None:
    """The dashboard's path in Grafana (``/grafana/d/<uid>/<slug>``), looked up by uid.

    A failed look-up is remembered for a minute too, so a page that links to Grafana
    waits on an unreachable Grafana at most once a minute, not on every view.
    """
    api = client()
    if api is None:
        return None
    key = f"servermon:grafana:dashboard:{uid}"
    try:
        cached = get_redis().get(key)
    except redis.RedisError:
        cached = None
    if cached is not None:
        return cached or None
    try:
        path = api.dashboard.get_dashboard(uid)["meta"]["url"]
    except (GrafanaException, KeyError, TypeError, OSError) as exc:
        log.warning("Grafana dashboard %s not found: %s", uid, exc)
        path, ttl = "", MISS_TTL_S
    else:
        ttl = LINK_TTL_S
    with contextlib.suppress(redis.RedisError):
        get_redis().set(key, path, ex=ttl)
    return path or None


def _route(uid: str) -> str:
    """``/d/<uid>/<slug>`` as Grafana names it, without Grafana's own sub-path (the
    browser-facing address in the settings already carries it); ``/d/<uid>`` when the
    look-up is not possible, which Grafana redirects to the same place. Looked up once
    per request: the Alerts page links every incident row to the same dashboard."""
    routes = g.setdefault("grafana_routes", {})
    if uid not in routes:
        path = dashboard_path(uid) or ""
        start = path.find("/d/")
        routes[uid] = path[start:] if start >= 0 else f"/d/{uid}"
    return routes[uid]


def dashboard_url(base: str, uid: str, **params: object) -> str:
    """A link to a whole dashboard at ``base`` (the browser-facing Grafana address)."""
    return f"{base}{_route(uid)}?{urlencode(params)}"


def panel_url(base: str, uid: str, panel_id: int, **params: object) -> str:
    """One panel alone (``/d-solo/``), for an iframe inside a portal page."""
    route = _route(uid).replace("/d/", "/d-solo/", 1)
    return f"{base}{route}?{urlencode({'orgId': 1, 'panelId': panel_id, **params})}"


def _millis(moment) -> int:
    return int(moment.timestamp() * 1000)


def annotate(incident: Incident) -> None:
    """Create the incident's annotation, or close it when the incident has ended."""
    api = client()
    if api is None:
        return
    text = f"{incident.alertname}: {incident.server_name or ''} {incident.reason or ''}".strip()
    tags = ["servermon", incident.alertname, incident.severity]
    if incident.server_name:
        tags.append(incident.server_name)
    end = _millis(incident.ended_at) if incident.ended_at else None
    if incident.grafana_annotation_id is None:
        created = api.annotations.add_annotation(time_from=_millis(incident.started_at),
                                                 time_to=end, tags=tags, text=text)
        incident.grafana_annotation_id = created["id"]
        db.session.commit()
    elif end is not None:
        api.annotations.partial_update_annotation(incident.grafana_annotation_id, time_to=end,
                                                  text=f"{text} (resolved)")


def queue_annotation(incident_id: int) -> None:
    if not current_app.config["SERVERMON"].grafana_url:
        return
    try:
        send("push_annotation", incident_id)
    except Exception as exc:
        log.warning("annotation for incident %s not queued: %s", incident_id, exc)


def annotate_incident(incident_id: int) -> None:
    """The ``push_annotation`` job: raises while Grafana fails, so the job is retried."""
    incident = db.session.get(Incident, incident_id)
    if incident is not None:
        annotate(incident)
