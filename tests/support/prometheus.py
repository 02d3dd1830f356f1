"""The real Prometheus scraping a fixed metrics page (or any targets), with the repo's
recording rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import yaml

from provisioning.render import RULES_DIR
from tests.support.binaries import prometheus

# Server 1 ("cbs") up, answering in 250 ms, its certificate expiring 2030-03-17.
ONE_SERVER_UP = """# TYPE probe_success gauge
probe_success{server_id="1",server="cbs",kind="http"} 1
# TYPE probe_duration_seconds gauge
probe_duration_seconds{server_id="1",server="cbs",kind="http"} 0.25
# TYPE probe_ssl_earliest_cert_expiry gauge
probe_ssl_earliest_cert_expiry{server_id="1",server="cbs",kind="http"} 1900000000
"""


@contextmanager
def fixed_page(text: str) -> Iterator[str]:
    """A metrics page that always says ``text``; yields its host:port."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    page = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{page.server_port}"
    finally:
        page.shutdown()


@contextmanager
def scraping_fixed_page(text: str, workdir: Path,
                        ready_query: str = "server:probe_success:avg_over_time_24h") -> Iterator[str]:
    """Prometheus scraping and evaluating rules every second; yields its URL once
    ``ready_query`` returns data, so a test never reads an empty database."""
    with fixed_page(text) as target, scraping(
            [{"job_name": "page", "static_configs": [{"targets": [target]}]}],
            workdir, ready_query) as url:
        yield url


@contextmanager
def scraping(scrape_configs: list[dict], workdir: Path, ready_query: str) -> Iterator[str]:
    """Prometheus scraping ``scrape_configs`` and evaluating the repo's recording rules every
    second; yields its URL once ``ready_query`` returns data."""
    rules = yaml.safe_load((RULES_DIR / "recording.rules.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
    (workdir / "rules.yml").write_text(yaml.safe_dump(rules))
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(workdir / "rules.yml")],
              "scrape_configs": scrape_configs}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    with prometheus(workdir / "prometheus.yml", workdir) as url:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            answer = requests.get(f"{url}/api/v1/query", timeout=5,
                                  params={"query": ready_query}).json()
            if answer["status"] != "success":
                raise ValueError(f"Prometheus refused {ready_query}: {answer}")
            if answer["data"]["result"]:
                break
            time.sleep(0.2)
        else:
            raise TimeoutError(f"Prometheus never answered {ready_query}")
        yield url


@contextmanager
def scraping_nodes(workdir: Path, server_id: str, server: str) -> Iterator[tuple[str, str]]:
    """The real node_exporter and Prometheus scraping it every second as the servermon-nodes
    job, labelled as the portal's service discovery labels ``server``; yields the exporter's
    host:port and Prometheus's URL once a CPU rate has two samples (every figure has one)."""
    from portal.charts.resources import CHARTS
    from tests.support.node_exporter import node_exporter

    with node_exporter(workdir) as address:
        job = {"job_name": "servermon-nodes", "static_configs": [{
            "targets": [address],
            "labels": {"server_id": server_id, "server": server, "instance": server,
                       "exporter": "node"}}]}
        with scraping([job], workdir, CHARTS["cpu"].format(id=server_id, window="1m")) as url:
            yield address, url
