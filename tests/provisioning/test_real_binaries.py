"""The rendered configs run by Debian's real Prometheus and Alertmanager: every rule
loaded and evaluated, the route and inhibitions in force, the webhook posted with the
bearer token from its file."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from provisioning.render import RULE_FILES, RULES_DIR, RenderedPaths, render
from tests.provisioning.conftest import TOKEN, tool
from tests.support.binaries import free_port, running
from tests.support.standins import JsonHandler
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


class PortalWebhookStandIn:
    """Local HTTP server standing in for the portal's Alertmanager webhook."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        stand_in = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.posts.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                       **body})
                self._answer(200, {"status": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> PortalWebhookStandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def portal() -> Iterator[PortalWebhookStandIn]:
    with PortalWebhookStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def configs(tmp_path: Path, token_file: Path, portal: PortalWebhookStandIn) -> RenderedPaths:
    # The exporter's port is free and nothing answers there, as before script/server
    # has started it.
    return render(tmp_path / "out", exporter=f"127.0.0.1:{free_port()}", portal=portal.address,
                  alertmanager=f"127.0.0.1:{free_port()}", webhook_token_file=token_file,
                  server_down_for="2s", scrape_interval="1s", evaluation_interval="1s",
                  group_wait="1s", group_interval="1s")


@contextmanager
def alertmanager(configs: RenderedPaths, workdir: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{free_port()}"
    args = [tool("prometheus-alertmanager", "alertmanager"), f"--config.file={configs.alertmanager}",
            f"--storage.path={workdir / 'alertmanager'}", f"--web.listen-address={url[7:]}",
            "--cluster.listen-address="]
    with running(args, f"{url}/-/ready", workdir / "alertmanager.log"):
        yield url


def alert(name: str, server_id: str, severity: str = "warning", *, ended: bool = False) -> dict:
    now = datetime.now(UTC)
    body = {"labels": {"alertname": name, "server_id": server_id, "server": f"srv-{server_id}",
                       "severity": severity},
            "annotations": {"summary": f"{name} on {server_id}"},
            "startsAt": (now - timedelta(seconds=30)).isoformat()}
    if ended:
        body["endsAt"] = now.isoformat()
    return body


def test_prometheus_loads_every_rule_and_evaluates_against_what_it_scrapes(configs, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [tool("prometheus"), f"--config.file={configs.prometheus}",
            f"--storage.tsdb.path={tmp_path / 'prometheus'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"]
    with running(args, f"{url}/-/ready", tmp_path / "prometheus.log"):
        groups = requests.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        # Nothing answers at the exporter's address, so ExporterDown starts pending at once.
        exporter_down = wait_for(lambda: [
            a for a in requests.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
            if a["labels"]["alertname"] == "ExporterDown"], timeout=15, what="ExporterDown pending")
        jobs_configured = len(yaml.safe_load(configs.prometheus.read_text())["scrape_configs"])

        def every_target():  # discovery fills in job by job: a first answer may lack some
            found = requests.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
            return found if len({t["labels"]["job"] for t in found}) >= jobs_configured else None

        targets = wait_for(every_target, what="every job's targets discovered")
        managers = wait_for(lambda: requests.get(f"{url}/api/v1/alertmanagers", timeout=5)
                            .json()["data"]["activeAlertmanagers"], what="Alertmanager discovered")

    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    committed = {rule.get("alert") or rule.get("record")
                 for path in RULES_DIR.glob(RULE_FILES)
                 for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]}
    assert set(loaded) == committed
    assert loaded["ServerDown"]["duration"] == 2
    assert {loaded[name]["type"] for name in committed if ":" in name} == {"recording"}
    [down] = exporter_down
    assert down["state"] in ("pending", "firing")
    assert down["annotations"]["runbook_url"] == "http://localhost:8080/runbooks/ExporterDown"
    jobs = {(t["labels"]["job"], t["labels"]["instance"]) for t in targets}
    config = yaml.safe_load(configs.prometheus.read_text())
    assert jobs == {(job["job_name"], job["static_configs"][0]["targets"][0])
                    for job in config["scrape_configs"]}
    alerting = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
    assert [m["url"] for m in managers] == [f"http://{alerting}/api/v2/alerts"]


def test_alertmanager_reports_the_rendered_route(configs, tmp_path, portal):
    with alertmanager(configs, tmp_path) as url:
        status = requests.get(f"{url}/api/v2/status", timeout=5).json()
    loaded = yaml.safe_load(status["config"]["original"])
    assert loaded["route"]["receiver"] == "portal"
    assert loaded["route"]["group_by"] == ["alertname", "server_id"]
    assert loaded["route"]["group_wait"] == "1s"
    [hook] = loaded["receivers"][0]["webhook_configs"]
    assert hook["url"] == f"http://{portal.address}/api/alertmanager/webhook"
    assert TOKEN not in status["config"]["original"]


def test_down_slow_and_node_down_mute_the_warnings_they_explain_of_that_server_only(
        configs, tmp_path):
    sent = [alert("ServerDown", "7", "critical"), alert("ServerSlow", "7"),
            alert("TLSCertificateExpiringSoon", "7"),
            alert("TLSCertificateExpiringCritical", "7", "critical"), alert("ServerSlow", "8"),
            alert("ExporterDown", "servermon", "critical"), alert("TargetMissing", "9"),
            alert("ExporterTargetsUnavailable", "servermon"), alert("ServerPacketLoss", "7"),
            alert("ProbeResultsStale", "9"), alert("HeartbeatRunLong", "7"),
            alert("LatencyDrift", "8"), alert("NodeDown", "9"), alert("NodeCPUSaturated", "9"),
            alert("NodeCPUSaturated", "8"), alert("NodeDiskFullIn4h", "8", "critical")]
    expected = {("ServerDown", "7"): "active", ("ServerSlow", "7"): "suppressed",
                ("TLSCertificateExpiringSoon", "7"): "suppressed",
                ("TLSCertificateExpiringCritical", "7"): "active", ("ServerSlow", "8"): "active",
                ("ExporterDown", "servermon"): "active", ("TargetMissing", "9"): "suppressed",
                ("ExporterTargetsUnavailable", "servermon"): "suppressed",
                ("ServerPacketLoss", "7"): "suppressed", ("ProbeResultsStale", "9"): "suppressed",
                ("HeartbeatRunLong", "7"): "suppressed", ("LatencyDrift", "8"): "suppressed",
                ("NodeDown", "9"): "active", ("NodeCPUSaturated", "9"): "suppressed",
                ("NodeCPUSaturated", "8"): "active", ("NodeDiskFullIn4h", "8"): "active"}

    def states() -> dict:
        got = requests.get(f"{url}/api/v2/alerts", timeout=5).json()
        return {(a["labels"]["alertname"], a["labels"]["server_id"]): a["status"]["state"]
                for a in got}

    with alertmanager(configs, tmp_path) as url:
        requests.post(f"{url}/api/v2/alerts", json=sent, timeout=5).raise_for_status()
        # Inhibitions apply once Alertmanager has taken in the source alerts.
        wait_for(lambda: states() == expected, timeout=10, what="inhibitions",
                 context=lambda: str(states()))


def test_alertmanager_posts_firing_and_resolved_with_the_bearer_token(configs, tmp_path, portal):
    with alertmanager(configs, tmp_path) as url:
        requests.post(f"{url}/api/v2/alerts", json=[alert("ServerDown", "7", "critical")],
                      timeout=5).raise_for_status()
        [firing] = wait_for(lambda: portal.posts[:1], timeout=10, what="firing post")
        requests.post(f"{url}/api/v2/alerts", json=[alert("ServerDown", "7", "critical", ended=True)],
                      timeout=5).raise_for_status()
        resolved = wait_for(lambda: [p for p in portal.posts if p["status"] == "resolved"],
                            timeout=10, what="resolved post")[0]

    assert firing["path"] == "/api/alertmanager/webhook"
    assert firing["auth"] == f"Bearer {TOKEN}"
    assert (firing["version"], firing["receiver"], firing["status"]) == ("4", "portal", "firing")
    assert firing["groupLabels"] == {"alertname": "ServerDown", "server_id": "7"}
    assert [a["labels"]["server"] for a in firing["alerts"]] == ["srv-7"]
    assert resolved["auth"] == f"Bearer {TOKEN}"
    assert resolved["alerts"][0]["status"] == "resolved"
