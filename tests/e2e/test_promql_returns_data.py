"""Every PromQL expression in alert_rules/ and the portal's charts runs against the real
Prometheus scraping the real exporter (and the portal), and returns data. The dashboards'
queries, with Grafana's variables, are tests/dashboards/'s.

The targets are arranged so each expression has something to say: a slow site for
ServerSlow, a refused port for ServerDown, certificates expiring in 10 and 2 days, a
DNS server, a second exporter shard that is down (ExporterDown, TargetMissing) and a
third exporter whose service-discovery token is wrong (ExporterTargetsUnavailable), a
second portal that is down (PortalDown) and no Alertmanager (AlertmanagerDown)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests
import yaml

from portal.charts import resources
from portal.charts.queries import (
    AVAILABILITY,
    CERT,
    CHARTS,
    FLEET_LATENCY,
    FLEET_SUCCESS,
    RANGES,
)
from portal.charts.uptime import RECORDED
from portal.extensions import db
from provisioning.render import ROOT, render
from tests.conftest import TEST_REDIS_URL, fresh_app, make_config
from tests.factories import make_server
from tests.support.binaries import binary, free_port, running
from tests.support.live_server import serving
from tests.support.targets import Loop, self_signed, site, start_dns, start_site
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

# Conditions this stack cannot arrange (packet loss on loopback) run with their threshold
# opened: that still proves the series exist and the joins match. alert_rules/tests/ fires
# them.
OPENED = {"ServerPacketLoss": ("> 0.1", ">= 0")}
# Alerts on a series the exporter writes only while something is wrong (a result overdue):
# a healthy stack has none, by design. alert_rules/tests/ fires them and
# tests/exporter/test_metrics.py checks the line the exporter writes when a result is late.
ABSENT_WHILE_HEALTHY = {"ProbeResultsStale", "ExporterProbesStalled"}
# What this stack has no source or no history for: the servers' node exporters (job
# servermon-nodes; tests/provisioning/test_nodes_job.py has Prometheus scrape a real one and
# tests/portal/charts/test_resources.py runs the same series names), a heartbeat's runs,
# the same hour of past days, and the hour's median, a subquery at 30 s steps that a stack
# seconds old may have no step of. alert_rules/tests/ fires or computes each of them.
ELSEWHERE_FILES = {"resources.rules.yml"}
NEEDS_HISTORY = {"LatencyDrift", "SuccessRateFalling", "HeartbeatRunLong",
                 "server:probe_duration_seconds:median_over_time_1h",
                 "server:probe_duration_seconds:median_over_time_1h_same_hour_7d",
                 "server:servermon_heartbeat_run_duration_seconds:median_over_time_7d"}


def rule_queries() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "alert_rules").glob("*.rules.yml")):
        if path.name in ELSEWHERE_FILES:
            continue
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                if name in ABSENT_WHILE_HEALTHY or name in NEEDS_HISTORY:
                    continue
                expr = rule["expr"]
                if rule.get("alert") in OPENED:
                    threshold, opened = OPENED[rule["alert"]]
                    assert threshold in expr, rule["alert"]
                    expr = expr.replace(threshold, opened)
                found.append((f"{path.name}: {rule.get('alert') or rule.get('record')}", expr))
    return found


def portal_queries() -> list[tuple[str, str]]:
    """The portal's own fixed queries (charts, tiles, uptime), with the server as a variable.
    The resource charts read the servermon-nodes job, which this stack does not scrape:
    tests/portal/charts/test_resources.py runs them against the real node_exporter."""
    found = [(f"portal chart {name}", template.format(id="$server_id", window="1m"))
             for name, template in CHARTS.items() if name not in resources.CHARTS]
    found += [(f"portal availability {window}", AVAILABILITY.format(id="$server_id", window=window))
              for window in RANGES]
    found += [("portal certificate expiry", CERT.format(id="$server_id")),
              ("portal tile latency", FLEET_LATENCY.format(ids="$server_id")),
              ("portal tile status", FLEET_SUCCESS.format(ids="$server_id")),
              ("portal uptime 24 h", RECORDED)]
    return found


def spawn_exporter(env: dict, port: int, log, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "exporter"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env={
                                **os.environ, **env, "EXPORTER_PORT": str(port),
                                "EXPORTER_LISTEN": "127.0.0.1", **extra})


def test_every_dashboard_and_rule_expression_returns_data(migrated, tmp_path):
    loop = Loop()
    plain = loop.run(start_site(site()))
    tls_soon = loop.run(start_site(site(), self_signed(tmp_path, 10)))
    tls_critical = loop.run(start_site(site(), self_signed(tmp_path, 2)))
    dns_port = loop.run(start_dns())
    portal_port = free_port()
    config = make_config(migrated, PORTAL_URL=f"http://127.0.0.1:{portal_port}")
    env = {"PORTAL_URL": config.portal_url, "SD_TOKEN": config.sd_token,
           "REDIS_URL": TEST_REDIS_URL}
    shard, down_shard, lost = free_port(), free_port(), free_port()
    processes = []
    with fresh_app(config) as app, serving(app, portal_port), \
            (tmp_path / "exporters.log").open("w") as log:
        wanted = [
            ("web", "http", f"http://127.0.0.1:{plain}/", {}),
            ("slow", "http", f"http://127.0.0.1:{plain}/slow", {"timeout_s": 5}),
            ("refused", "tcp", f"127.0.0.1:{free_port()}", {"down_after": 1}),
            ("cert-soon", "http", f"https://localhost:{tls_soon}/", {"tls_verify": False}),
            ("cert-critical", "tcp", f"localhost:{tls_critical}",
             {"tcp_tls": True, "tls_verify": False}),
            ("dns", "dns", "www.bank.test",
             {"dns_resolver": f"127.0.0.1:{dns_port}", "dns_expected": "10.0.0.7"}),
            ("loopback", "icmp", "127.0.0.1", {}),
        ]
        for name, kind, target, fields in wanted:
            server = make_server(name, kind=kind, target=target, interval_s=10,
                                 **{"timeout_s": 3, **fields})
            if server.id % 2:  # odd ids belong to the shard that is down: keep this one
                server.name = f"{name}-missing"  # visible to TargetMissing, then add it again
                db.session.commit()
                make_server(name, kind=kind, target=target, interval_s=10,
                            **{"timeout_s": 3, **fields})
        processes.append(spawn_exporter(env, shard, log, EXPORTER_SHARDS="2",
                                        EXPORTER_SHARD="0"))
        processes.append(spawn_exporter({**env, "SD_TOKEN": "wrong-token-0123456789"}, lost,
                                        log))
        token = tmp_path / "token"
        token.write_text(config.alertmanager_webhook_token)
        rendered = render(tmp_path / "provisioning", exporter=f"127.0.0.1:{shard}",
                          portal=f"127.0.0.1:{portal_port}", alertmanager="127.0.0.1:9",
                          webhook_token_file=token, scrape_interval="1s",
                          evaluation_interval="1s")
        prometheus_yml = yaml.safe_load(rendered.prometheus.read_text())
        for job in prometheus_yml["scrape_configs"]:
            if job["job_name"] == "servermon-exporter":
                job["static_configs"][0]["targets"] = [f"127.0.0.1:{p}" for p in
                                                       (shard, down_shard, lost)]
            if job["job_name"] != "servermon-exporter":  # else a first scrape may take 15 s
                job["scrape_interval"] = job["scrape_timeout"] = "1s"
            if job["job_name"] == "servermon-portal":
                # A second portal that is down, for PortalDown (AlertmanagerDown has one:
                # Alertmanager is "at" port 9, where nothing listens).
                job["static_configs"][0]["targets"].append(f"127.0.0.1:{free_port()}")
        rendered.prometheus.write_text(yaml.safe_dump(prometheus_yml))
        for rules in rendered.rules:
            data = yaml.safe_load(rules.read_text())
            for group in data["groups"]:
                group["interval"] = "1s"
            rules.write_text(yaml.safe_dump(data))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        try:
            with running([binary("prometheus"), f"--config.file={rendered.prometheus}",
                          f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                          f"--web.listen-address=127.0.0.1:{port}"],
                         f"{url}/-/ready", tmp_path / "prometheus.log"):

                def result(expr: str) -> list:
                    answer = requests.get(f"{url}/api/v1/query", params={"query": expr},
                                          timeout=10).json()
                    assert answer["status"] == "success", (expr, answer)
                    return answer["data"]["result"]

                def probed(metric: str, count: int) -> bool:
                    return len(result(metric)) >= count

                wait_for(lambda: probed("probe_success", 7) and probed(
                    "probe_ssl_earliest_cert_expiry", 2) and probed(
                    'probe_duration_seconds{server=~"slow.*"} > 2', 1) and probed(
                    "rate(servermon_probes_total[1m]) > 0", 1) and probed(
                    "servermon_server_registered", 7) and probed(
                    'up{job="alertmanager"}', 1) and probed('up{job="servermon-portal"}', 2),
                    timeout=60,
                    what="first probes scraped",
                    context=lambda: (tmp_path / "exporters.log").read_text()[-3000:])
                time.sleep(3)  # a few rule evaluations on the scraped data
                ids = [item["metric"]["server_id"] for item in result("probe_success")]
                queries = rule_queries() + portal_queries()
                assert len(queries) >= 25
                empty = []
                for where, expr in queries:
                    if "$server_id" in expr:
                        ok = any(result(expr.replace("$server_id", i)) for i in ids)
                    else:
                        ok = bool(result(expr))
                    if not ok:
                        empty.append(f"{where}: {expr}")
                assert empty == []
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
            loop.stop()
