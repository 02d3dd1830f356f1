"""Job servermon-nodes end to end: a server registered with Debian's real
prometheus-node-exporter as its resources endpoint, listed by the live portal's
/api/sd/nodes, scraped by Debian's real Prometheus running the rendered config."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_app, make_config
from tests.factories import make_server
from tests.support.live_server import serving
from tests.support.node_exporter import node_exporter
from tests.support.nodes_prometheus import node_targets, prometheus_scraping_nodes, query
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def test_prometheus_scrapes_the_node_exporter_the_portal_lists(migrated, tmp_path):
    config = make_config(migrated)
    with node_exporter(tmp_path) as endpoint, fresh_app(config) as app, \
            serving(app) as portal:
        server = make_server("cbs-db", kind="tcp", target="cbs-db.bank.local:5432",
                             environment="production", group="core", labels={"team": "dba"},
                             resources_endpoint=endpoint)
        make_server("no-exporter")
        make_server("paused", enabled=False, resources_endpoint=endpoint)
        with prometheus_scraping_nodes(portal, config.sd_token, tmp_path) as url:
            selector = f'job="servermon-nodes",server_id="{server.id}"'
            [up] = wait_for(lambda: query(url, f"up{{{selector}}} == 1"), timeout=30,
                            what="the node exporter scraped",
                            context=lambda: str(node_targets(url)))
            cpu = wait_for(lambda: query(url, f"node_cpu_seconds_total{{{selector}}}"),
                           what="CPU series")
            disks = query(url, f"node_filesystem_avail_bytes{{{selector}}}")
            targets = node_targets(url)

    assert up["metric"] == {"__name__": "up", "job": "servermon-nodes", "instance": "cbs-db",
                            "server_id": str(server.id), "server": "cbs-db", "exporter": "node",
                            "environment": "production", "group": "core", "team": "dba"}
    assert {series["metric"]["mode"] for series in cpu} >= {"idle", "system", "user"}
    assert disks and all(float(series["value"][1]) >= 0 for series in disks)
    assert all(series["metric"]["mountpoint"] for series in disks)
    # One target: the server without an endpoint and the paused one are not scraped.
    assert [(t["scrapeUrl"], t["labels"]["server"]) for t in targets] == [
        (f"http://{endpoint}/metrics", "cbs-db")]
