"""remote_write to a long-term store, run for real: the rendered Prometheus writes what it
scrapes to Debian's VictoriaMetrics on loopback, and a 30-day availability, older than
anything the local Prometheus holds, reads back through VictoriaMetrics's PromQL API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from provisioning.render import RULES_DIR, render
from tests.provisioning.conftest import tool
from tests.support.binaries import binary, free_port, running
from tests.support.prometheus import ONE_SERVER_UP, fixed_page
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

DAY_S = 86_400
STEP_S = 300
SERVER = '{server="cbs"}'


def thirty_day_rule() -> str:
    """The portal's 30-day availability expression, as committed."""
    rules = yaml.safe_load((RULES_DIR / "recording.rules.yml").read_text())
    return next(rule["expr"] for group in rules["groups"] for rule in group["rules"]
                if rule.get("record") == "server:probe_success:avg_over_time_30d")


@contextmanager
def victoria_metrics(workdir: Path) -> Iterator[str]:
    """Debian's single-node VictoriaMetrics on a free loopback port; yields its URL."""
    url = f"http://127.0.0.1:{free_port()}"
    args = [binary("victoria-metrics"), f"-httpListenAddr={url[7:]}",
            f"-storageDataPath={workdir / 'victoria-metrics'}",
            # Its default (one month) would refuse history 35 days back.
            "-retentionPeriod=10y",
            # A sample is readable once flushed, not 30 s later; no cached answers.
            "-search.latencyOffset=0s", "-search.disableCache"]
    with running(args, f"{url}/health", workdir / "victoria-metrics.log"):
        yield url


@contextmanager
def prometheus_writing_to(store: str, workdir: Path) -> Iterator[str]:
    """The rendered Prometheus, scraping a page with server cbs up as its exporter, with
    ``--remote-write`` set to ``store``; yields its URL."""
    with fixed_page(ONE_SERVER_UP) as page:
        token = workdir / "token"
        token.write_text("am-token-0123456789abcdef\n")
        configs = render(workdir / "out", exporter=page, portal=f"127.0.0.1:{free_port()}",
                         alertmanager=f"127.0.0.1:{free_port()}", webhook_token_file=token,
                         scrape_interval="1s", evaluation_interval="1s",
                         remote_write=[f"{store}/api/v1/write"])
        url = f"http://127.0.0.1:{free_port()}"
        args = [tool("prometheus"), f"--config.file={configs.prometheus}",
                f"--storage.tsdb.path={workdir / 'prometheus'}",
                f"--web.listen-address={url[7:]}"]
        with running(args, f"{url}/-/ready", workdir / "prometheus.log"):
            yield url


def query(base: str, promql: str, at: float | None = None) -> list[dict]:
    params = {"query": promql} if at is None else {"query": promql, "time": f"{at:.3f}"}
    answer = requests.get(f"{base}/api/v1/query", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def written(store: str) -> dict:
    """The cbs series as VictoriaMetrics has it from Prometheus (labels and last sample)."""
    requests.get(f"{store}/internal/force_flush", timeout=5).raise_for_status()
    found = query(store, f"probe_success{SERVER}")
    return found[0] if found else {}


def import_history(store: str, labels: dict[str, str], samples: list[tuple[float, int]]) -> None:
    """Samples with past timestamps, as remote_write would have delivered them over the
    last weeks, into the same series (the labels Prometheus wrote)."""
    selector = ",".join(f"{name}={json.dumps(value)}" for name, value in sorted(labels.items())
                        if name != "__name__")
    body = "".join(f"probe_success{{{selector}}} {value} {int(at * 1000)}\n" for at, value in samples)
    requests.post(f"{store}/api/v1/import/prometheus", data=body, timeout=30).raise_for_status()
    requests.get(f"{store}/internal/force_flush", timeout=5).raise_for_status()


def test_a_sample_prometheus_scrapes_is_readable_from_victoria_metrics(tmp_path):
    with victoria_metrics(tmp_path) as store, prometheus_writing_to(store, tmp_path) as prometheus:
        series = wait_for(lambda: written(store), timeout=30, what="probe_success in VictoriaMetrics",
                          every=0.5)
        [local] = query(prometheus, f"probe_success{SERVER}")

    assert series["metric"] == {**local["metric"], "monitor": "servermon"}
    assert series["metric"]["job"] == "servermon-exporter"
    stamp, value = series["value"]
    assert value == "1"
    assert time.time() - float(stamp) < 30  # just scraped, not a leftover


def test_a_30_day_availability_reads_back_from_victoria_metrics(tmp_path):
    """History the local Prometheus never had: 35 days back, down for the oldest tenth of
    the last 30 days and for days 31-35, which the 30-day window must leave out."""
    with victoria_metrics(tmp_path) as store, prometheus_writing_to(store, tmp_path) as prometheus:
        labels = wait_for(lambda: written(store), timeout=30, every=0.5,
                          what="probe_success in VictoriaMetrics")["metric"]
        start = time.time()
        outside = [(start - 35 * DAY_S + i * STEP_S, 0) for i in range(4 * DAY_S // STEP_S)]
        first = start - 30 * DAY_S + 3600
        inside = [(first + i * STEP_S, 0 if i < 800 else 1) for i in range(8000)]
        import_history(store, labels, outside + inside)
        # Read at a fixed instant once a later sample is in: every earlier one has arrived.
        wait_for(lambda: float(written(store).get("value", [0])[0]) > start + 2, timeout=30,
                 every=0.5, what="a sample after the import")
        at = start + 1
        [availability] = query(store, thirty_day_rule(), at)
        [count] = query(store, f"count_over_time(probe_success{SERVER}[30d])", at)
        [week] = query(store, f"avg_over_time(probe_success{SERVER}[7d])", at)
        [local] = query(prometheus, thirty_day_rule(), at)

    live = int(count["value"][1]) - len(inside)
    assert live >= 1  # Prometheus's samples count in the same series
    assert float(availability["value"][1]) == pytest.approx((7200 + live) / (8000 + live))
    assert 0.9 <= float(availability["value"][1]) < 0.905
    assert float(week["value"][1]) == 1.0  # the outage is four weeks old
    assert {k: v for k, v in availability["metric"].items() if k != "__name__"} == \
        {k: v for k, v in labels.items() if k != "__name__"}
    # Prometheus itself only has the minutes it scraped: the month is the store's.
    assert float(local["value"][1]) == 1.0
