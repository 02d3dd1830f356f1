"""Debian's Prometheus running the rendered config, its job servermon-nodes asking a live
test portal's /api/sd/nodes for the servers' node exporters: for the resource tests.

Only the addresses and the scrape interval differ from what script/server runs. Nothing
answers at the exporter's or Alertmanager's address (those jobs are down, which the
resource tests do not read).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from provisioning.render import render
from tests.support.binaries import free_port, prometheus

NODES_JOB = "servermon-nodes"


@contextmanager
def prometheus_scraping_nodes(portal: str, sd_token: str, workdir: Path, *,
                              scrape_interval: str = "1s") -> Iterator[str]:
    """Yields Prometheus's base URL once it is ready. ``portal`` is the live portal's
    ``host:port`` (tests/support/live_server.serving); ``sd_token`` its SD_TOKEN, which
    Prometheus reads from a file, as script/server has it. The servers registered before
    this starts are scraped from the first discovery; later ones within the job's
    refresh_interval (30 s)."""
    secrets = workdir / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "sd_token").write_text(sd_token + "\n")
    (secrets / "webhook_token").write_text("unused-webhook-token\n")
    rendered = render(workdir / "provisioning", exporter=f"127.0.0.1:{free_port()}",
                      portal=portal, alertmanager=f"127.0.0.1:{free_port()}",
                      webhook_token_file=secrets / "webhook_token",
                      sd_token_file=secrets / "sd_token", scrape_interval=scrape_interval)
    with prometheus(rendered.prometheus, workdir) as url:
        yield url


def query(url: str, expr: str) -> list[dict]:
    """An instant query's result vector (an error fails the test with Prometheus's answer)."""
    answer = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]["result"]


def node_targets(url: str) -> list[dict]:
    """The nodes job's active targets, as Prometheus discovered and last scraped them."""
    found = requests.get(f"{url}/api/v1/targets", params={"state": "active"},
                         timeout=10).json()["data"]["activeTargets"]
    return [target for target in found if target["labels"].get("job") == NODES_JOB]
