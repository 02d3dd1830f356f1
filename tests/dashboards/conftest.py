"""One real fleet for the dashboard tests: the portal serving service discovery, the real
exporter probing local targets of every kind (one up, one down each; the down ones fail
for different reasons), Debian's Prometheus with the repository's rendered config and
rules (every rule group evaluated each second), all started once for the package."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from portal.extensions import db
from provisioning.render import ROOT, render
from tests.conftest import TEST_REDIS_URL, fresh_app, make_config
from tests.dashboards.grafana import Prometheus
from tests.factories import make_server
from tests.support.binaries import free_port, prometheus
from tests.support.live_server import serving
from tests.support.targets import Loop, self_signed, site, start_dns, start_site
from tests.support.waiting import wait_for


@dataclass(frozen=True)
class Probed:
    name: str
    server_id: str
    kind: str
    up: bool
    tls: bool = False


@dataclass
class Fleet:
    prometheus: Prometheus
    servers: list[Probed]
    workdir: Path

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-2500:]}"
                         for path in sorted(self.workdir.glob("*.log")))


def wanted(plain: int, tls: int, dns: int) -> list[tuple[str, str, str, bool, dict]]:
    """(name, kind, target, up, fields): each kind up and down."""
    return [
        ("web", "http", f"http://127.0.0.1:{plain}/", True, {}),
        ("web-tls", "http", f"https://localhost:{tls}/", True, {"tls_verify": False}),
        ("web-missing", "http", f"http://127.0.0.1:{plain}/missing", False, {}),  # 404
        ("tcp-open", "tcp", f"127.0.0.1:{plain}", True, {}),
        ("tcp-refused", "tcp", f"127.0.0.1:{free_port()}", False, {}),
        ("ping-loopback", "icmp", "127.0.0.1", True, {}),
        # A name that cannot resolve: some networks answer even TEST-NET addresses.
        ("ping-nowhere", "icmp", "nowhere.invalid", False, {}),
        ("dns-www", "dns", "www.bank.test", True,
         {"dns_resolver": f"127.0.0.1:{dns}", "dns_expected": "10.0.0.7"}),
        ("dns-missing", "dns", "missing.bank.test", False, {"dns_resolver": f"127.0.0.1:{dns}"}),
    ]


@pytest.fixture(scope="package")
def fleet(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("dashboards")
    loop = Loop()
    plain = loop.run(start_site(site()))
    tls = loop.run(start_site(site(), self_signed(workdir, 20)))
    dns = loop.run(start_dns())
    portal_port, exporter_port, prometheus_port = free_port(), free_port(), free_port()
    config = make_config(migrated, PORTAL_URL=f"http://127.0.0.1:{portal_port}")
    try:
        with fresh_app(config) as app, serving(app, portal_port):
            servers = []
            for number, (name, kind, target, up, fields) in enumerate(wanted(plain, tls, dns)):
                server = make_server(name, kind=kind, target=target, interval_s=10,
                                     environment=("production", "staging")[number % 2],
                                     **{"timeout_s": 2, "down_after": 1, **fields})
                servers.append(Probed(name, str(server.id), kind, up,
                                      tls=target.startswith("https")))
            db.session.remove()
            with (workdir / "exporter.log").open("w") as log:
                exporter = subprocess.Popen(
                    [sys.executable, "-m", "exporter"], cwd=ROOT, stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PORTAL_URL": config.portal_url,
                         "SD_TOKEN": config.sd_token, "REDIS_URL": TEST_REDIS_URL,
                         "EXPORTER_PORT": str(exporter_port), "EXPORTER_LISTEN": "127.0.0.1"})
            try:
                with start_prometheus(workdir, exporter_port, portal_port,
                                      prometheus_port) as base:
                    prometheus = Prometheus(base)
                    found = Fleet(prometheus, servers, workdir)
                    every = len(servers)

                    def ready() -> bool:
                        return (len(prometheus.instant("probe_success")) >= every
                                and len(prometheus.instant("count by (server_id) ("
                                                           "server:probe_success:avg_over_time_30d"
                                                           ")")) >= every
                                and bool(prometheus.instant("probe_failure_info"))
                                and bool(prometheus.instant(
                                    "rate(servermon_probes_total[1m]) > 0")))

                    wait_for(ready, timeout=90, every=0.5, what="every server probed, scraped "
                             "and recorded", context=found.logs)
                    yield found
            finally:
                exporter.terminate()
                exporter.wait(timeout=10)
    finally:
        loop.stop()


@contextmanager
def start_prometheus(workdir: Path, exporter_port: int, portal_port: int,
                     port: int) -> Iterator[str]:
    """The repository's config, rendered for this machine, scraping and evaluating every
    second (the recording rules' 1 min and 3 min too, so they have values at once)."""
    token = workdir / "webhook_token"
    token.write_text("am-token-for-tests-0123456789\n")
    rendered = render(workdir / "provisioning", exporter=f"127.0.0.1:{exporter_port}",
                      portal=f"127.0.0.1:{portal_port}", alertmanager="127.0.0.1:9",
                      webhook_token_file=token, scrape_interval="1s", evaluation_interval="1s")
    config = yaml.safe_load(rendered.prometheus.read_text())
    for job in config["scrape_configs"]:
        job["scrape_interval"] = job["scrape_timeout"] = "1s"
    rendered.prometheus.write_text(yaml.safe_dump(config))
    for rules in rendered.rules:
        data = yaml.safe_load(rules.read_text())
        for group in data["groups"]:
            group["interval"] = "1s"
        rules.write_text(yaml.safe_dump(data))
    with prometheus(rendered.prometheus, workdir, port) as url:
        yield url
