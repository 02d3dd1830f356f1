"""The portal's fixed chart queries: PromQL built here from a chart's name and a server,
never sent by a browser, and Prometheus's answers turned into plain series.

Viewers never send PromQL: they name a chart and a server, and the portal builds the
query, so no one can read series they were not meant to or load Prometheus with an
expensive expression from the browser.
"""

from __future__ import annotations

import math
import time

from portal.charts import resources
from portal.charts.prometheus import query, query_range
from portal.charts.uptime import monitored_since, over, uptime_figures
from portal.dbtypes import utcnow
from portal.errors import APIError

RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
POINTS = 360  # per series: enough for a smooth line, little to send
MIN_WINDOW_S = 60  # at least two scrapes of a 30 s probe in every averaged point
# Each point averages its own step, so a 30-day chart still shows a short outage as a dip
# instead of skipping it between two samples. Latency counts only probes that succeeded:
# a failed probe's duration is how long it took to fail (a timeout), not how fast the
# server answers. A point whose step holds a failed probe is left out (a gap where the
# status chart dips), which needs no subquery and so stays cheap on a 30-day chart.
CHARTS = {
    "latency": ('avg_over_time(probe_duration_seconds{{server_id="{id}"}}[{window}])'
                ' and on (server_id) min_over_time(probe_success{{server_id="{id}"}}[{window}]) == 1'),
    "status": 'avg_over_time(probe_success{{server_id="{id}"}}[{window}])',
    "dns": 'probe_dns_lookup_time_seconds{{server_id="{id}"}}',
    "http_status": 'probe_http_status_code{{server_id="{id}"}}',
    # cpu, memory, disk, load, network: the servermon-nodes job's (portal/charts/resources.py)
    **resources.CHARTS,
}
# Rates need a few scrapes in every point, whatever the step.
MIN_WINDOWS_S = dict.fromkeys(resources.CHARTS, resources.MIN_WINDOW_S)
AVAILABILITY = 'avg_over_time(probe_success{{server_id="{id}"}}[{window}])'
CERT = 'probe_ssl_earliest_cert_expiry{{server_id="{id}"}}'

FLEET_MAX = 100  # one dashboard page holds 48 tiles
FLEET_RANGE_S = 3600
FLEET_STEP_S = 60
FLEET_LATENCY = ('avg_over_time(probe_duration_seconds{{server_id=~"{ids}"}}[1m])'
                 ' and on (server_id) min_over_time(probe_success{{server_id=~"{ids}"}}[1m]) == 1')
FLEET_SUCCESS = 'avg_over_time(probe_success{{server_id=~"{ids}"}}[1m])'


def step_for(span: float) -> float:
    """Seconds between points: POINTS across the span, never finer than 5 s."""
    return max(span / POINTS, 5)


def _number(value: str) -> float | None:
    """Prometheus sends NaN and ±Inf as strings; JSON has no such numbers, so they become null."""
    number = float(value)
    return number if math.isfinite(number) else None


def series(data: dict) -> list[dict]:
    """A range answer as ``[{labels, points: [[ts, value], ...]}]``."""
    return [{"labels": item["metric"],
             "points": [[float(ts), _number(value)] for ts, value in item.get("values", [])]}
            for item in data.get("result", [])]


def _scalar(data: dict) -> float | None:
    result = data.get("result", [])
    return float(result[0]["value"][1]) if result else None


def chart(name: str, server_id: int, range_name: str) -> dict:
    """One fixed chart of one server over one of RANGES."""
    end = time.time()
    span = RANGES[range_name]
    step = step_for(span)
    window = f"{max(int(step), MIN_WINDOWS_S.get(name, MIN_WINDOW_S))}s"
    data = query_range(CHARTS[name].format(id=server_id, window=window), end - span, end, step)
    return {"chart": name, "range": range_name, "start": end - span, "end": end, "step": step,
            "series": series(data)}


def availability(server_id: int) -> dict:
    """Availability over each of RANGES (percent), what each covers, and the certificate's
    expiry. ``over[window]`` is the monitored span ("4 min") when the server has been
    monitored for less than the window, else None; ``availability_pct`` is None where no
    probe result exists at all."""
    figures, covers = {}, {}
    since = monitored_since([server_id]).get(server_id)
    now = utcnow()
    for window, window_s in RANGES.items():
        value = _scalar(query(AVAILABILITY.format(id=server_id, window=window)))
        figures[window] = None if value is None else round(value * 100, 4)
        covers[window] = over(since, window_s, now)["over"] if value is not None else None
    expiry = _scalar(query(CERT.format(id=server_id)))
    return {"server_id": server_id, "availability_pct": figures, "over": covers,
            "monitored_since": since.isoformat() if since else None, "cert_expiry": expiry}


def fleet(ids: list[str]) -> dict:
    """The last hour of many servers in one go, for the dashboard's tiles: latency per
    minute, the share of probes that succeeded per minute, and the 24 h uptime (with
    ``uptime_over``, "4 min", when the server has been monitored for less than a day).

    The uptime comes from Redis, so when Prometheus is away the gauges still answer and
    the charts are empty with the reason in ``error``.
    """
    end = time.time()
    error = None
    try:
        latency = _by_server(FLEET_LATENCY, ids, end, scale=1000)
        success = _by_server(FLEET_SUCCESS, ids, end, scale=1)
    except APIError as exc:
        if exc.status < 500:
            raise
        latency, success, error = {}, {}, exc.message
    uptime = uptime_figures([int(server_id) for server_id in ids])
    return {"range": "1h", "start": end - FLEET_RANGE_S, "end": end, "step": FLEET_STEP_S,
            "error": error,
            "servers": {server_id: {"latency_ms": latency.get(server_id, []),
                                    "up": success.get(server_id, []),
                                    **_uptime(uptime.get(int(server_id)))}
                        for server_id in ids}}


def _uptime(figure: dict | None) -> dict:
    """A tile's 24 h uptime and, when the server is younger than a day, what it covers."""
    if figure is None:
        return {"uptime_24h": None, "uptime_over_s": None, "uptime_over": None}
    return {"uptime_24h": figure["pct"], "uptime_over_s": figure["over_s"],
            "uptime_over": figure["over"]}


def _by_server(template: str, ids: list[str], end: float, scale: float) -> dict[str, list]:
    data = query_range(template.format(ids="|".join(ids)), end - FLEET_RANGE_S, end, FLEET_STEP_S)
    found: dict[str, list] = {}
    for item in series(data):
        server_id = item["labels"].get("server_id")
        if server_id in ids:
            found[server_id] = [[ts, None if value is None else round(value * scale, 3)]
                                for ts, value in item["points"]]
    return found
