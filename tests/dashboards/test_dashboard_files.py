"""The dashboards as files: one datasource variable used everywhere, the portal's
incident annotations shown (the tags the portal writes), and the panels and variables
the portal's links and embeds name still there."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

import portal.grafana as grafana
from portal.servers.pages.dashboard import OVERVIEW_PANEL
from portal.servers.pages.detail import SERVER_PANELS
from tests.dashboards.grafana import ROOT, Variable, interpolate, panels, provisioned_datasource

BOARDS = {path.stem: json.loads(path.read_text())
          for path in sorted((ROOT / "dashboards").glob("*.json"))}


def pushed_tags(monkeypatch, **incident: object) -> list[str]:
    """The tags portal.grafana.annotate gives an incident's annotation."""
    sent = []

    class Annotations:
        def add_annotation(self, **fields):
            sent.append(fields["tags"])
            return {"id": 1}

    monkeypatch.setattr(grafana, "client", lambda: SimpleNamespace(annotations=Annotations()))
    monkeypatch.setattr(grafana, "db", SimpleNamespace(session=SimpleNamespace(
        commit=lambda: None)))
    values = {"alertname": "ServerDown", "severity": "critical", "server_name": "cbs",
              "reason": "refused", "started_at": datetime(2026, 3, 2, 9, tzinfo=UTC),
              "ended_at": None, "grafana_annotation_id": None, **incident}
    grafana.annotate(SimpleNamespace(**values))
    [tags] = sent
    return tags


def incidents_annotation(board: dict) -> dict:
    [found] = [a for a in board["annotations"]["list"] if not a.get("builtIn")]
    assert found["datasource"] == {"type": "grafana", "uid": "-- Grafana --"}
    assert found["type"] == found["target"]["type"] == "tags"
    assert found["tags"] == found["target"]["tags"]
    assert found["matchAny"] is found["target"]["matchAny"] is False  # every tag must match
    assert found["enable"] is True
    return found


@pytest.mark.parametrize("name", ["overview", "server"])
def test_every_panel_and_variable_uses_the_datasource_variable(name):
    board = BOARDS[name]
    [variable] = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    source = provisioned_datasource()
    assert (variable["name"], variable["query"]) == ("datasource", source["type"])
    assert variable["current"]["value"] == source["uid"]  # embeds without var-datasource
    variable_ref = {"type": "prometheus", "uid": "${datasource}"}
    for panel in panels(board):
        assert panel["datasource"] == variable_ref, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == variable_ref, panel["title"]
    for spec in board["templating"]["list"]:
        if spec["type"] == "query":
            assert spec["datasource"] == variable_ref, spec["name"]
    text = json.dumps({k: v for k, v in board.items() if k != "templating"})
    assert source["uid"] not in text


def test_the_overview_shows_every_incident(monkeypatch):
    annotation = incidents_annotation(BOARDS["overview"])
    for incident in ({}, {"server_name": None, "alertname": "ExporterDown"},
                     {"alertname": "TLSCertificateExpiringSoon", "severity": "warning"}):
        assert set(annotation["tags"]) <= set(pushed_tags(monkeypatch, **incident))


def test_the_server_dashboard_shows_that_servers_incidents_only(monkeypatch):
    """Grafana interpolates an annotation's tags (its datasource calls TemplateSrv.replace
    on each, and a format in the expression wins), so ${server_id:text} is the name the
    picker shows for the chosen id: the tag the portal adds for the server."""
    annotation = incidents_annotation(BOARDS["server"])
    picker = Variable("server_id", "7", "cbs")

    def rendered(variable: Variable) -> set[str]:
        return {interpolate(tag, {"server_id": variable}, {}) for tag in annotation["tags"]}

    assert rendered(picker) <= set(pushed_tags(monkeypatch, server_name="cbs"))
    assert not rendered(picker) <= set(pushed_tags(monkeypatch, server_name="core-banking"))
    assert not rendered(picker) <= set(pushed_tags(monkeypatch, server_name=None))


def test_the_panels_the_portal_embeds_are_there():
    overview = {p["id"]: p["title"] for p in panels(BOARDS["overview"])}
    assert overview[OVERVIEW_PANEL] == "Status history"
    server = {p["id"]: p["title"] for p in panels(BOARDS["server"])}
    for panel_id, title in SERVER_PANELS:
        assert server[panel_id] == title
    for board in BOARDS.values():
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), board["uid"]


def test_the_server_variable_is_the_one_the_portal_links_set():
    """The portal links with var-server_id (an id); the picker shows names."""
    sources = [ROOT / "portal" / "servers" / "pages" / "detail.py",
               ROOT / "portal" / "incidents" / "service.py"]
    linked = {name for path in sources for name in re.findall(r'"var-(\w+)"', path.read_text())}
    variables = {v["name"] for v in BOARDS["server"]["templating"]["list"]}
    assert linked == {"server_id"}
    assert linked <= variables
    [picker] = [v for v in BOARDS["server"]["templating"]["list"] if v["name"] == "server_id"]
    assert "(?<text>" in picker["regex"] and "(?<value>" in picker["regex"]


def test_availability_panels_read_the_recording_rules():
    recorded = re.compile(r"^server:probe_success:avg_over_time_(1h|24h|7d|30d)\{")
    for board in BOARDS.values():
        for panel in panels(board):
            if panel["title"].startswith("Availability"):
                for target in panel["targets"]:
                    assert recorded.match(target["expr"]), (panel["title"], target["expr"])
            for target in panel.get("targets", []):
                assert "avg_over_time(probe_success" not in target["expr"], panel["title"]
