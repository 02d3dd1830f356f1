"""Charts from Prometheus: fixed, parameterised queries for everyone who sees status, and
a PromQL box for roles with API access.

Viewers never send PromQL: they name a chart and a server, and the portal builds the
query, so no one can read series they were not meant to or load Prometheus with an
expensive expression from the browser.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field, field_validator, model_validator

from portal.auth.guard import requires
from portal.charts.prometheus import query, query_range
from portal.charts.uptime import uptimes
from portal.errors import APIError
from portal.lookups import get_or_404
from portal.schemas import DbId, Strict, parse_query
from portal.servers.models import Server

bp = Blueprint("charts_api", __name__, url_prefix="/api")

RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
POINTS = 360  # per series: enough for a smooth line, little to send
MIN_WINDOW_S = 60  # at least two scrapes of a 30 s probe in every averaged point
# Each point averages its own step, so a 30-day chart still shows a short outage as a dip
# instead of skipping it between two samples.
CHARTS = {
    "latency": 'avg_over_time(probe_duration_seconds{{server_id="{id}"}}[{window}])',
    "status": 'avg_over_time(probe_success{{server_id="{id}"}}[{window}])',
    "dns": 'probe_dns_lookup_time_seconds{{server_id="{id}"}}',
    "http_status": 'probe_http_status_code{{server_id="{id}"}}',
}
AVAILABILITY = 'avg_over_time(probe_success{{server_id="{id}"}}[{window}])'
CERT = 'probe_ssl_earliest_cert_expiry{{server_id="{id}"}}'
MAX_PROMQL_RANGE = 31 * 86400


class ChartQuery(Strict):
    server_id: DbId
    range: Literal[tuple(RANGES)] = "24h"  # type: ignore[valid-type]


def _server(server_id: int) -> int:
    return get_or_404(Server, server_id, "server", field="server_id").id


def step_for(span: float) -> float:
    """Seconds between points: POINTS across the span, never finer than 5 s."""
    return max(span / POINTS, 5)


def _number(value: str) -> float | None:
    """Prometheus sends NaN and ±Inf as strings; JSON has no such numbers, so they become null."""
    number = float(value)
    return number if math.isfinite(number) else None


def _series(data: dict) -> list[dict]:
    return [{"labels": item["metric"],
             "points": [[float(ts), _number(value)] for ts, value in item.get("values", [])]}
            for item in data.get("result", [])]


@bp.get("/charts/<chart>")
@requires("status.view")
def chart(chart: str):
    """One fixed chart (latency, status, dns, http_status) of one server over 1h/24h/7d/30d."""
    if chart not in CHARTS:
        raise APIError(404, f"no chart named {chart}", {"chart": f"one of {', '.join(CHARTS)}"})
    args = parse_query(ChartQuery)
    server_id = _server(args.server_id)
    end = time.time()
    span = RANGES[args.range]
    step = step_for(span)
    window = f"{max(int(step), MIN_WINDOW_S)}s"
    data = query_range(CHARTS[chart].format(id=server_id, window=window), end - span, end, step)
    return jsonify(chart=chart, range=args.range, start=end - span, end=end, step=step,
                   series=_series(data))


def _scalar(data: dict) -> float | None:
    result = data.get("result", [])
    return float(result[0]["value"][1]) if result else None


@bp.get("/charts/availability")
@requires("status.view")
def availability():
    """A server's availability over 1 h, 24 h, 7 d and 30 d, and its certificate's expiry."""
    args = parse_query(ChartQuery)
    server_id = _server(args.server_id)
    figures = {}
    for window in RANGES:
        value = _scalar(query(AVAILABILITY.format(id=server_id, window=window)))
        figures[window] = None if value is None else round(value * 100, 4)
    expiry = _scalar(query(CERT.format(id=server_id)))
    return jsonify(server_id=server_id, availability_pct=figures, cert_expiry=expiry)


FLEET_MAX = 100  # one dashboard page holds 48 tiles
FLEET_RANGE_S = 3600
FLEET_STEP_S = 60
FLEET_LATENCY = 'avg_over_time(probe_duration_seconds{{server_id=~"{ids}"}}[1m])'
FLEET_SUCCESS = 'avg_over_time(probe_success{{server_id=~"{ids}"}}[1m])'


class FleetQuery(Strict):
    ids: str = Field(min_length=1, max_length=1200)

    @field_validator("ids")
    @classmethod
    def _ids(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(part.isdigit() and len(part) < 10 for part in parts):
            raise ValueError("a comma-separated list of server ids")
        if len(parts) > FLEET_MAX:
            raise ValueError(f"at most {FLEET_MAX} servers per request")
        return ",".join(str(int(part)) for part in dict.fromkeys(parts))


@bp.get("/charts/fleet")
@requires("status.view")
def fleet():
    """The last hour of many servers in one request, for the dashboard's tiles: latency per
    minute, the share of probes that succeeded per minute, and the 24 h uptime.

    Two range queries serve a whole page of tiles. The uptime comes from Redis, so when
    Prometheus is away the gauges still answer and the charts are empty with the reason in
    ``error``: a dashboard left open overnight does not fill the console with failures.
    """
    ids = parse_query(FleetQuery).ids.split(",")
    end = time.time()
    error = None
    try:
        latency = _by_server(FLEET_LATENCY, ids, end, scale=1000)
        success = _by_server(FLEET_SUCCESS, ids, end, scale=1)
    except APIError as exc:
        if exc.status < 500:
            raise
        latency, success, error = {}, {}, exc.message
    uptime = uptimes([int(server_id) for server_id in ids])
    return jsonify(range="1h", start=end - FLEET_RANGE_S, end=end, step=FLEET_STEP_S, error=error,
                   servers={server_id: {"latency_ms": latency.get(server_id, []),
                                        "up": success.get(server_id, []),
                                        "uptime_24h": uptime.get(int(server_id))}
                            for server_id in ids})


def _by_server(template: str, ids: list[str], end: float, scale: float) -> dict[str, list]:
    data = query_range(template.format(ids="|".join(ids)), end - FLEET_RANGE_S, end, FLEET_STEP_S)
    found: dict[str, list] = {}
    for series in _series(data):
        server_id = series["labels"].get("server_id")
        if server_id in ids:
            found[server_id] = [[ts, None if value is None else round(value * scale, 3)]
                                for ts, value in series["points"]]
    return found


class PromQLQuery(Strict):
    query: str = Field(min_length=1, max_length=2000)
    start: float | None = None
    end: float | None = None
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> PromQLQuery:
        given = [self.start is not None, self.end is not None, self.step is not None]
        if any(given) and not all(given):
            raise ValueError("step: a range query needs start, end and step")
        if all(given):
            if self.end <= self.start:
                raise ValueError("end: must be after start")
            if self.end - self.start > MAX_PROMQL_RANGE:
                raise ValueError("end: at most 31 days per query")
            if (self.end - self.start) / self.step > 11000:
                raise ValueError("step: too many points; use a larger step")
        return self


@bp.get("/promql")
@requires("api.access")
def promql():
    """Any PromQL, instant or range (at most 31 days), for roles with API access."""
    args = parse_query(PromQLQuery)
    if args.start is None:
        return jsonify(query(args.query))
    return jsonify(query_range(args.query, args.start, args.end, args.step))
