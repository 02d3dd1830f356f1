"""/api/charts: fixed charts for everyone who sees status (``charts.queries`` builds the
PromQL), and /api/promql, any PromQL, for roles with API access."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field, field_validator, model_validator

from portal.auth.guard import requires
from portal.charts import queries
from portal.charts.prometheus import query, query_range
from portal.errors import APIError
from portal.lookups import get_or_404
from portal.schemas import DbId, Strict, parse_query
from portal.servers.models import Server

bp = Blueprint("charts_api", __name__, url_prefix="/api")

MAX_PROMQL_RANGE = 31 * 86400


class ChartQuery(Strict):
    server_id: DbId
    range: Literal[tuple(queries.RANGES)] = "24h"  # type: ignore[valid-type]


def _server(server_id: int) -> int:
    return get_or_404(Server, server_id, "server", field="server_id").id


@bp.get("/charts/<chart>")
@requires("status.view")
def chart(chart: str):
    """One fixed chart of one server over 1h/24h/7d/30d: its probes' latency, status, dns,
    http_status, or its resources' cpu, memory, disk, load, network."""
    if chart not in queries.CHARTS:
        raise APIError(404, f"no chart named {chart}",
                       {"chart": f"one of {', '.join(queries.CHARTS)}"})
    args = parse_query(ChartQuery)
    return jsonify(queries.chart(chart, _server(args.server_id), args.range))


@bp.get("/charts/availability")
@requires("status.view")
def availability():
    """A server's availability over 1 h, 24 h, 7 d and 30 d, and its certificate's expiry."""
    args = parse_query(ChartQuery)
    return jsonify(queries.availability(_server(args.server_id)))


class FleetQuery(Strict):
    ids: str = Field(min_length=1, max_length=1200)

    @field_validator("ids")
    @classmethod
    def _ids(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(part.isdigit() and len(part) < 10 for part in parts):
            raise ValueError("a comma-separated list of server ids")
        if len(parts) > queries.FLEET_MAX:
            raise ValueError(f"at most {queries.FLEET_MAX} servers per request")
        return ",".join(str(int(part)) for part in dict.fromkeys(parts))


@bp.get("/charts/fleet")
@requires("status.view")
def fleet():
    """The last hour of many servers in one request, for the dashboard's tiles: latency per
    minute, the share of probes that succeeded per minute, and the 24 h uptime (two range
    queries for a whole page of tiles; with Prometheus away, empty charts and ``error``)."""
    return jsonify(queries.fleet(parse_query(FleetQuery).ids.split(",")))


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
