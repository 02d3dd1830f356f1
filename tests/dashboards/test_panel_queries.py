"""Every panel target and every query variable of dashboards/*.json, interpolated as
Grafana would (tests/dashboards/grafana.py), runs against the real Prometheus scraping the
real exporter (tests/dashboards/conftest.py) and returns data.

A per-server query must return data for at least one server and only that server's
series; a fleet query is run with $environment at All and at each environment. A query
that comes back empty is reported with the metrics it reads that Prometheus has no series
of at all, so a family the exporter does not (yet) write is named."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.dashboards.conftest import Fleet
from tests.dashboards.grafana import (
    ROOT,
    TimeRange,
    interpolate,
    panels,
    provisioned_datasource,
    resolve,
)

pytestmark = pytest.mark.e2e

BOARDS = {path.stem: json.loads(path.read_text())
          for path in sorted((ROOT / "dashboards").glob("*.json"))}
# Queries allowed to come back empty here, and why. None: every panel of both dashboards
# has something to show in this fleet (a failing server of each kind, a certificate, DNS).
EXPECTED_EMPTY: dict[tuple[str, str], str] = {}
FUNCTIONS = {"count", "sum", "avg", "max", "min", "rate", "time", "by", "without",
             "avg_over_time", "on", "ignoring", "group_left", "vector", "or", "and", "unless"}


def metrics_in(expr: str) -> list[str]:
    names = re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{|\[|\))", expr)
    return sorted({n for n in names if n not in FUNCTIONS and not n.startswith("__")})


def missing_metrics(fleet: Fleet, expr: str) -> list[str]:
    return [name for name in metrics_in(expr)
            if not fleet.prometheus.instant(f'count({{__name__="{name}"}})')]


def run(fleet: Fleet, board: dict, panel: dict, target: dict, variables: dict) -> list[dict]:
    when = TimeRange.of(board, time.time())
    expr = interpolate(target["expr"], variables, when.builtins(panel))
    assert "$" not in expr, f"left uninterpolated: {expr}"
    if target.get("instant"):
        return fleet.prometheus.instant(expr, when.end_s)
    # Grafana floors the range's end to the step; ended at now, so a Prometheus a minute
    # old has data at the last step too.
    return [series for series in fleet.prometheus.range(
        expr, when.start_s, when.end_s, when.interval_ms(panel)) if series["values"]]


def targets(name: str) -> list[tuple[dict, dict]]:
    return [(panel, target) for panel in panels(BOARDS[name])
            for target in panel.get("targets", [])]


def uid() -> str:
    return provisioned_datasource()["uid"]


def test_both_dashboards_are_checked():
    assert set(BOARDS) == {"overview", "server"}
    assert sum(len(targets(name)) for name in BOARDS) >= 25


def test_every_query_variable_has_options(fleet: Fleet):
    when = TimeRange.of(BOARDS["server"], time.time())
    for board in BOARDS.values():
        variables = resolve(board, fleet.prometheus, when, uid())
        for spec in board["templating"]["list"]:
            if spec["type"] == "query":
                assert variables[spec["name"]].options, (
                    f"{board['uid']}: variable {spec['name']} has no options", fleet.logs())
    environments = resolve(BOARDS["overview"], fleet.prometheus, when, uid())["environment"]
    assert [value for _text, value in environments.options] == ["production", "staging"]


def test_the_server_picker_shows_names_and_keeps_ids_as_values(fleet: Fleet):
    """The portal's links pass var-server_id=<id> (portal/servers/pages/detail.py,
    portal/incidents/service.py): each id selects its server, shown by name."""
    when = TimeRange.of(BOARDS["server"], time.time())
    picker = resolve(BOARDS["server"], fleet.prometheus, when, uid())["server_id"]
    assert sorted(picker.options) == sorted((s.name, s.server_id) for s in fleet.servers)
    assert [text for text, _value in picker.options] == sorted(s.name for s in fleet.servers)
    for server in fleet.servers:
        chosen = resolve(BOARDS["server"], fleet.prometheus, when, uid(),
                         {"server_id": server.server_id})["server_id"]
        assert (chosen.value, chosen.text) == (server.server_id, server.name)


def test_every_overview_panel_returns_data(fleet: Fleet):
    board = BOARDS["overview"]
    when = TimeRange.of(board, time.time())
    everyone = resolve(board, fleet.prometheus, when, uid())
    assert everyone["environment"].value == "$__all"
    empty = []
    for panel, target in targets("overview"):
        if (panel["title"], target["refId"]) in EXPECTED_EMPTY:
            continue
        if not run(fleet, board, panel, target, everyone):
            empty.append(f"{panel['title']} {target['refId']}: {target['expr']} "
                         f"(no series at all of {missing_metrics(fleet, target['expr'])})")
    assert empty == [], fleet.logs()
    # One environment at a time: the variable's value goes into every panel.
    for environment in ("production", "staging"):
        one = resolve(board, fleet.prometheus, when, uid(), {"environment": environment})
        [status] = [p for p in panels(board) if p["title"] == "Status history"]
        names = {s["metric"]["server"] for s in run(fleet, board, status, status["targets"][0],
                                                     one)}
        assert names and names < {s.name for s in fleet.servers}, (environment, names)


def test_every_server_panel_returns_data_for_its_server_only(fleet: Fleet):
    board = BOARDS["server"]
    when = TimeRange.of(board, time.time())
    per_server = {server.server_id: resolve(board, fleet.prometheus, when, uid(),
                                            {"server_id": server.server_id})
                  for server in fleet.servers}
    empty, foreign, served = [], [], {}
    for panel, target in targets("server"):
        where = f"{panel['title']} {target['refId']}"
        if (panel["title"], target["refId"]) in EXPECTED_EMPTY:
            continue
        served[where] = []
        for server in fleet.servers:
            series = run(fleet, board, panel, target, per_server[server.server_id])
            if series:
                served[where].append(server.name)
            foreign += [f"{where} for {server.name}: {s['metric']}" for s in series
                        if s["metric"].get("server_id", server.server_id) != server.server_id]
        if not served[where]:
            empty.append(f"{where}: {target['expr']} "
                         f"(no series at all of {missing_metrics(fleet, target['expr'])})")
    assert empty == [], fleet.logs()
    assert foreign == []
    down = {s.name for s in fleet.servers if not s.up}
    assert set(served["Failure reason A"]) == down
    assert set(served["Status A"]) == {s.name for s in fleet.servers}
    assert set(served["Certificate expires in A"]) == {s.name for s in fleet.servers if s.tls}
    # An ICMP server whose name does not resolve sent no echo, so it has no loss ratio.
    icmp = {s.name for s in fleet.servers if s.kind == "icmp"}
    assert {s.name for s in fleet.servers if s.kind == "icmp" and s.up} \
        <= set(served["ICMP packet loss A"]) <= icmp
    http_up = {s.name for s in fleet.servers if s.kind == "http"}
    assert http_up <= set(served["HTTP phase timings A"]) | down


def test_failure_reasons_are_codes(fleet: Fleet):
    """The failure-reason panels group by a bounded code, one per failing server."""
    reasons = {s["metric"]["server"]: s["metric"]["reason"]
               for s in fleet.prometheus.instant("probe_failure_info")}
    assert set(reasons) == {s.name for s in fleet.servers if not s.up}
    assert all(re.fullmatch(r"[a-z0-9_]+", reason) for reason in reasons.values()), reasons


def test_http_phases_include_tls(fleet: Fleet):
    phases = {s["metric"]["phase"] for s in fleet.prometheus.instant(
        'probe_http_duration_seconds{server="web-tls"}')}
    assert phases == {"resolve", "connect", "tls", "processing", "transfer"}, (
        f"probe_http_duration_seconds phases: {sorted(phases)}")
