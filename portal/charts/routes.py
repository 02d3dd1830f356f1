"""Charts from Prometheus: fixed, parameterised queries for everyone who sees status, and
a PromQL box for roles with API access.

Viewers never send PromQL: they name a chart and a server, and the portal builds the
query, so no one can read series they were not meant to or load Prometheus with an
expensive expression from the browser.
"""

from __future__ import annotations

import time
from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field, model_validator

from portal.auth.guard import requires
from portal.charts.prometheus import query, query_range
from portal.errors import APIError
from portal.lookups import get_or_404
from portal.schemas import Strict, parse_query
from portal.servers.models import Server

bp = Blueprint("charts_api", __name__, url_prefix="/api")

RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
POINTS = 360  # per series: enough for a smooth line, little to send
CHARTS = {
    "latency": 'probe_duration_seconds{{server_id="{id}"}}',
    "status": 'probe_success{{server_id="{id}"}}',
    "dns": 'probe_dns_lookup_time_seconds{{server_id="{id}"}}',
    "http_status": 'probe_http_status_code{{server_id="{id}"}}',
}
AVAILABILITY = 'avg_over_time(probe_success{{server_id="{id}"}}[{window}])'
CERT = 'probe_ssl_earliest_cert_expiry{{server_id="{id}"}}'
MAX_PROMQL_RANGE = 31 * 86400


class ChartQuery(Strict):
    server_id: int
    range: Literal[tuple(RANGES)] = "24h"  # type: ignore[valid-type]


def _server(server_id: int) -> int:
    return get_or_404(Server, server_id, "server", field="server_id").id


def _series(data: dict) -> list[dict]:
    return [{"labels": item["metric"],
             "points": [[float(ts), float(value)] for ts, value in item.get("values", [])]}
            for item in data.get("result", [])]


@bp.get("/charts/<chart>")
@requires("status.view")
def chart(chart: str):
    if chart not in CHARTS:
        raise APIError(404, f"no chart named {chart}", {"chart": f"one of {', '.join(CHARTS)}"})
    args = parse_query(ChartQuery)
    server_id = _server(args.server_id)
    end = time.time()
    span = RANGES[args.range]
    step = max(span / POINTS, 5)
    data = query_range(CHARTS[chart].format(id=server_id), end - span, end, step)
    return jsonify(chart=chart, range=args.range, step=step, series=_series(data))


def _scalar(data: dict) -> float | None:
    result = data.get("result", [])
    return float(result[0]["value"][1]) if result else None


@bp.get("/charts/availability")
@requires("status.view")
def availability():
    args = parse_query(ChartQuery)
    server_id = _server(args.server_id)
    figures = {}
    for window in RANGES:
        value = _scalar(query(AVAILABILITY.format(id=server_id, window=window)))
        figures[window] = None if value is None else round(value * 100, 4)
    expiry = _scalar(query(CERT.format(id=server_id)))
    return jsonify(server_id=server_id, availability_pct=figures, cert_expiry=expiry)


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
    args = parse_query(PromQLQuery)
    if args.start is None:
        return jsonify(query(args.query))
    return jsonify(query_range(args.query, args.start, args.end, args.step))
