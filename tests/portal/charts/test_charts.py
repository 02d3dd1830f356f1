"""Charts and uptime through the real Prometheus, scraping a fixed metrics page."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import yaml

from portal.charts.uptime import refresh_uptime
from provisioning.render import RULES_DIR
from tests.conftest import fresh_app, make_config
from tests.factories import login, make_server, make_user
from tests.support.binaries import binary, free_port, running

METRICS = """# TYPE probe_success gauge
probe_success{server_id="%(id)s",server="cbs",kind="http"} 1
# TYPE probe_duration_seconds gauge
probe_duration_seconds{server_id="%(id)s",server="cbs",kind="http"} 0.25
# TYPE probe_ssl_earliest_cert_expiry gauge
probe_ssl_earliest_cert_expiry{server_id="%(id)s",server="cbs",kind="http"} 1900000000
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Real Prometheus scraping a page that says server 1 is up, rules every second."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (METRICS % {"id": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    tmp_path = tmp_path_factory.mktemp("prometheus")
    page = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    rules = yaml.safe_load((RULES_DIR / "recording.rules.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(tmp_path / "rules.yml")],
              "scrape_configs": [{"job_name": "page", "static_configs": [
                  {"targets": [f"127.0.0.1:{page.server_port}"]}]}]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([binary("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
                  f"--storage.tsdb.path={tmp_path / 'data'}",
                  f"--web.listen-address=127.0.0.1:{port}"],
                 f"{url}/-/ready", tmp_path / "prometheus.log"):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            data = requests.get(f"{url}/api/v1/query", timeout=5, params={
                "query": "server:probe_success:avg_over_time_24h"}).json()["data"]
            if data["result"]:
                break
            time.sleep(0.2)
        yield url
    page.shutdown()


@pytest.fixture
def chart_client(migrated, prometheus):
    with fresh_app(make_config(migrated, PROMETHEUS_URL=prometheus)) as app:
        yield app.test_client()


def test_latency_and_status_charts_come_from_prometheus(chart_client):
    server = make_server("cbs")
    assert server.id == 1
    headers = login(chart_client, make_user("customer_engagement"))
    body = chart_client.get("/api/charts/latency?server_id=1&range=1h", headers=headers).get_json()
    [series] = body["series"]
    assert series["labels"]["server"] == "cbs" and series["points"][-1][1] == 0.25
    status = chart_client.get("/api/charts/status?server_id=1", headers=headers).get_json()
    assert status["series"][0]["points"][-1][1] == 1.0


def test_availability_and_certificate_expiry(chart_client):
    make_server("cbs")
    headers = login(chart_client, make_user("flexipay_support"))
    body = chart_client.get("/api/charts/availability?server_id=1", headers=headers).get_json()
    assert body["availability_pct"] == {"1h": 100.0, "24h": 100.0, "7d": 100.0, "30d": 100.0}
    assert body["cert_expiry"] == 1900000000.0


def test_uptime_24h_appears_in_the_server_list(chart_client):
    make_server("cbs")
    assert refresh_uptime() == 1
    headers = login(chart_client, make_user("it_staff"))
    item = chart_client.get("/api/servers", headers=headers).get_json()["items"][0]
    assert item["uptime_24h"] == 100.0


def test_chart_parameters_are_validated(chart_client):
    make_server("cbs")
    headers = login(chart_client, make_user("it_staff"))
    assert chart_client.get("/api/charts/cpu?server_id=1", headers=headers).status_code == 404
    bad = chart_client.get("/api/charts/latency?server_id=1&range=1y", headers=headers)
    assert bad.status_code == 400 and "range" in bad.get_json()["details"]
    missing = chart_client.get("/api/charts/latency?server_id=99", headers=headers)
    assert missing.status_code == 404


def test_the_promql_box_is_for_api_access_only(chart_client):
    viewer = login(chart_client, make_user("it_staff"))
    developer = login(chart_client, make_user("developer"))
    url = "/api/promql?query=sum(probe_success)"
    assert chart_client.get(url, headers=viewer).status_code == 403
    body = chart_client.get(url, headers=developer).get_json()
    assert body["result"][0]["value"][1] == "1"
    bad = chart_client.get("/api/promql?query=sum(", headers=developer)
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("Prometheus:")
    ranged = chart_client.get("/api/promql?query=probe_success&start=1&end=0&step=1",
                              headers=developer)
    assert ranged.status_code == 400 and "end" in ranged.get_json()["details"]


def test_charts_say_so_when_prometheus_is_away(client):
    make_server("cbs")
    headers = login(client, make_user("it_staff"))
    response = client.get("/api/charts/latency?server_id=1", headers=headers)
    assert response.status_code == 503
