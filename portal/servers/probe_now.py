""""Test now" on the server form: one probe through the exporter's /probe, before saving.

The portal never connects to the server itself: the exporter is the one place that
probes, from where the probes normally run, so the answer is the one the schedule would
give.
"""

from __future__ import annotations

import requests
from flask import current_app

from portal.errors import APIError
from portal.servers.schemas import ServerSpec
from wire import PROBE_SETTINGS


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def probe_once(spec: ServerSpec) -> dict:
    config = current_app.config["SERVERMON"]
    params = {"target": spec.target, "module": spec.kind, "format": "json"}
    params.update({name: _param(getattr(spec, name)) for name in PROBE_SETTINGS
                   if getattr(spec, name) is not None})
    try:
        response = requests.get(f"{config.exporter_url}/probe", params=params,
                                headers={"Authorization": f"Bearer {config.sd_token}"},
                                timeout=spec.timeout_s + 5)
    except requests.RequestException as exc:
        raise APIError(503, "the exporter is unreachable; the probe could not run",
                       {"exporter": str(exc)[:200]}) from exc
    body = response.json() if response.headers.get("Content-Type", "").startswith(
        "application/json") else {}
    if response.status_code != 200:
        raise APIError(502 if response.status_code >= 500 else 400,
                       f"exporter: {body.get('error', response.status_code)}")
    return body
