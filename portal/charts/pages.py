"""The PromQL page: Prometheus's own query language for the roles with API access.

The query runs on the server (through the same client as the charts), so the page works
without JavaScript as a table; charts.js draws range results as a chart on top.
"""

from __future__ import annotations

import time

from flask import Blueprint, render_template, request

from portal.auth.guard import requires
from portal.charts.numbers import human_value
from portal.charts.prometheus import query, query_range
from portal.charts.queries import RANGES, step_for
from portal.errors import APIError
from portal.web.formatting import seconds_time

bp = Blueprint("chart_pages", __name__, template_folder="templates")

SPANS = {"instant": 0, "1h": RANGES["1h"], "6h": 6 * 3600, "24h": RANGES["24h"], "7d": RANGES["7d"]}
MAX_QUERY = 2000
MAX_ROWS = 200  # series listed in the table
MAX_CHARTED = 50  # series drawn; more is noise on one chart and heavy for the page
EXAMPLES = (
    "probe_success == 0",
    "sort_desc(probe_duration_seconds)",
    "server:probe_success:avg_over_time_24h * 100",
    "(probe_ssl_earliest_cert_expiry - time()) / 86400 < 30",
    "sum by (kind) (rate(servermon_probes_total[5m]))",
)


def _rows(data: dict) -> list[dict]:
    """One row per series: its labels and the value to show (the last one for a range),
    written for people (``shown``) with Prometheus's own text kept (``value``)."""
    rows = []
    for item in data.get("result", [])[:MAX_ROWS]:
        value = item["value"][1] if "value" in item else (item["values"] or [[0, ""]])[-1][1]
        name = item["metric"].get("__name__", "")
        labels = {key: val for key, val in item["metric"].items() if key != "__name__"}
        rows.append({"name": name, "labels": labels, "value": value,
                     "shown": human_value(value, name, seconds_time) if value != "" else "—",
                     "points": len(item.get("values", []))})
    return rows


def _run(expr: str, span_name: str) -> dict:
    span = SPANS[span_name]
    if not span:
        return query(expr)
    end = time.time()
    return {**query_range(expr, end - span, end, step_for(span)), "start": end - span, "end": end}


@bp.get("/query")
@requires("api.access", page=True)
def promql():
    expr = request.args.get("query", "").strip()
    span = request.args.get("range", "instant")
    errors: dict[str, str] = {}
    data = None
    status = 200
    if span not in SPANS:
        errors["range"] = f"one of {', '.join(SPANS)}"
    if len(expr) > MAX_QUERY:
        errors["query"] = f"at most {MAX_QUERY} characters"
    if errors:
        status = 400
    elif expr:
        try:
            data = _run(expr, span)
        except APIError as exc:  # a bad expression (400) or Prometheus away (502/503)
            errors["query"], status = exc.message, exc.status
    charted = None
    if data and data.get("resultType") == "matrix":
        charted = {"resultType": "matrix", "result": data["result"][:MAX_CHARTED],
                   "start": data["start"], "end": data["end"]}
    return render_template(
        "charts/query.html", expr=expr, span=span, spans=SPANS, errors=errors, data=data,
        rows=_rows(data) if data and data.get("resultType") in ("vector", "matrix") else [],
        charted=charted, max_rows=MAX_ROWS, max_charted=MAX_CHARTED, examples=EXAMPLES,
        human_value=human_value,
    ), status
