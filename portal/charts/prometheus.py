"""A small Prometheus HTTP API client for the portal's charts and uptime figures.

When Prometheus does not answer, the log gets its address and the error; the answer, which
every role with status.view reads, only says it is unreachable.
"""

from __future__ import annotations

import logging

import requests
from flask import current_app

from portal.errors import APIError

log = logging.getLogger(__name__)

TIMEOUT_S = 10


def _get(path: str, params: dict, timeout: float = TIMEOUT_S) -> dict:
    base = current_app.config["SERVERMON"].prometheus_url
    try:
        response = requests.get(f"{base}{path}", params=params, timeout=timeout)
    except requests.RequestException as exc:
        log.warning("Prometheus at %s is unreachable: %s", base, exc)
        raise APIError(503, "Prometheus is unreachable; charts are unavailable for now") from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise APIError(502, "Prometheus answered with something that is not JSON") from exc
    if body.get("status") != "success":
        status = 400 if response.status_code in (400, 422) else 502
        raise APIError(status, f"Prometheus: {body.get('error', 'query failed')}",
                       {"query": body.get("errorType", "error")})
    return body["data"]


def query(expr: str, time: float | None = None, timeout: float = TIMEOUT_S) -> dict:
    """An instant query; ``timeout``: shorter where a page must not wait long for it."""
    params = {"query": expr}
    if time is not None:
        params["time"] = time
    return _get("/api/v1/query", params, timeout)


def query_range(expr: str, start: float, end: float, step: float) -> dict:
    return _get("/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step})
