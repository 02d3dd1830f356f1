"""The blackbox_exporter mixin's dashboard (tests/fixtures/blackbox_mixin_queries.json,
copied with its source) run against the same fleet: its instance picker lists every
server once, by name, and each of its queries answers for each server it applies to,
with only that server's series. This needs instance="<server name>" on every probe
series (docs/design.md, Metrics), kept by honor_labels on the exporter job."""

from __future__ import annotations

import json
import time

import pytest

from tests.dashboards.conftest import Fleet, Probed
from tests.dashboards.grafana import ROOT, TimeRange, interpolate, resolve

pytestmark = pytest.mark.e2e

MIXIN = json.loads((ROOT / "tests" / "fixtures" / "blackbox_mixin_queries.json").read_text())
# Its panels assume a 30-day range-free instant view; Grafana's default range suffices.
BOARD = {"time": {"from": "now-1h", "to": "now"},
         "templating": {"list": MIXIN["variables"]}}
# Which servers each family has lines for: blackbox writes a family only where the
# probe produces it, and so does the exporter.
APPLIES = {
    "probe_http_status_code": lambda s: s.kind == "http",
    "probe_http_redirects": lambda s: s.kind == "http" and s.up,
    "probe_http_version": lambda s: s.kind == "http" and s.up,
    "probe_http_ssl": lambda s: s.kind == "http" and s.up,
    "probe_http_duration_seconds": lambda s: s.kind == "http",
    "probe_tls_version_info": lambda s: s.tls,
    "probe_ssl_earliest_cert_expiry": lambda s: s.tls,
    "probe_icmp_duration_seconds": lambda s: s.kind == "icmp" and s.up,
    "probe_dns_lookup_time_seconds": lambda s: s.kind == "dns" and s.up,
}


def applies(expr: str, server: Probed) -> bool:
    return all(check(server) for family, check in APPLIES.items() if family in expr)


def test_the_fixture_names_its_source():
    source = MIXIN["source"]
    assert source["repository"].startswith("https://github.com/")
    assert len(source["commit"]) == 40 and source["path"].endswith(".json")
    assert len(MIXIN["queries"]) >= 15


def test_the_instance_picker_lists_each_server_once(fleet: Fleet):
    when = TimeRange.of(BOARD, time.time())
    variables = resolve(BOARD, fleet.prometheus, when, "servermon-prometheus")
    instances = [value for _text, value in variables["instance"].options]
    names = sorted(s.name for s in fleet.servers)
    assert sorted(instances) == names, (
        "the mixin's instance picker (label_values(probe_success, instance)) does not list "
        f"one entry per server name; got {instances}: is instance=\"<server name>\" on "
        "every probe series yet (exporter labels, honor_labels on the exporter job)?")
    status_map = next(q for q in MIXIN["queries"] if q["panel"] == "Status Map")
    series = fleet.prometheus.instant(
        interpolate(status_map["expr"], variables, when.builtins(None)))
    assert sorted(s["metric"].get("instance") for s in series) == names


@pytest.mark.parametrize("query", MIXIN["queries"],
                         ids=[f"{q['panel_id']}-{q['refId']}-{q['panel']}" for q in MIXIN["queries"]])
def test_each_mixin_query_answers_per_server(fleet: Fleet, query: dict):
    when = TimeRange.of(BOARD, time.time())
    if "$instance" not in query["expr"]:
        variables = resolve(BOARD, fleet.prometheus, when, "servermon-prometheus")
        expr = interpolate(query["expr"], variables, when.builtins(None))
        assert fleet.prometheus.instant(expr), f"no data: {expr}"
        return
    wrong, empty = [], []
    for server in fleet.servers:
        variables = resolve(BOARD, fleet.prometheus, when, "servermon-prometheus",
                            {"instance": server.name})
        assert variables["instance"].value == server.name, (
            f"{server.name} is not an option of the instance picker")
        expr = interpolate(query["expr"], variables, when.builtins(None))
        series = fleet.prometheus.instant(expr)
        if applies(query["expr"], server) and not series:
            empty.append(server.name)
        # A series that keeps instance is that server's (one aggregated by phase has none).
        wrong += [f"{server.name}: {s['metric']}" for s in series
                  if s["metric"].get("instance", server.name) != server.name]
    assert empty == [], f"{query['panel']}: no data for {empty}"
    assert wrong == []
