"""render.py --blackbox-job: a classic blackbox-style job against the exporter's /probe,
run by Debian's real Prometheus next to the exporter job, both giving the same answers."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from provisioning.render import BLACKBOX_JOB, BLACKBOX_JOB_YML, EXPORTER_JOB, RenderError, render
from tests.provisioning.conftest import run, tool
from tests.support.binaries import free_port, running
from tests.support.exporter_process import exporter_process
from tests.support.standins import JsonHandler
from tests.support.waiting import wait_for
from wire import PROBE_SETTINGS, SD_SETTINGS

SD_TOKEN = "sd-token-for-blackbox-job-0123"
EXPORTER_REDIS_URL = os.environ.get("TEST_EXPORTER_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def sd_token_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "sd_token"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SD_TOKEN + "\n")
    return path


def _jobs(prometheus_yml: Path) -> list[dict]:
    return yaml.safe_load(prometheus_yml.read_text())["scrape_configs"]


def test_the_committed_job_relabels_every_probe_setting_into_a_parameter():
    [job] = yaml.safe_load(BLACKBOX_JOB_YML.read_text())["scrape_configs"]
    params = [rule["target_label"].removeprefix("__param_") for rule in job["relabel_configs"]
              if rule["target_label"].startswith("__param_")
              and rule["source_labels"][0].startswith("__meta_servermon_")]
    assert params == list(PROBE_SETTINGS)
    assert all(rule["source_labels"] == [f"__meta_servermon_{rule['target_label'][8:]}"]
               for rule in job["relabel_configs"] if rule["target_label"][8:] in PROBE_SETTINGS)


def test_render_writes_the_job_for_another_prometheus_with_this_machines_addresses(
        tmp_path, token_file, sd_token_file):
    """In its own file, never in servermon's prometheus.yml: the rules, recording rules and
    the portal read probe_success per server, and a second job writing it would double
    every figure and page on a single unconfirmed failure."""
    paths = render(tmp_path / "out", exporter="127.0.0.1:19117", portal="127.0.0.1:18000",
                   alertmanager="127.0.0.1:19093", webhook_token_file=token_file,
                   scrape_interval="2s", blackbox_job=True, sd_token_file=sd_token_file)
    assert BLACKBOX_JOB not in [job["job_name"] for job in _jobs(paths.prometheus)]
    [job] = _jobs(paths.blackbox_job)
    assert job["job_name"] == BLACKBOX_JOB and job["metrics_path"] == "/probe"
    assert job["authorization"] == {"type": "Bearer",
                                    "credentials_file": str(sd_token_file.resolve())}
    assert job["http_sd_configs"][0]["url"] == "http://127.0.0.1:18000/api/sd/targets"
    assert job["http_sd_configs"][0]["authorization"]["credentials_file"] == str(
        sd_token_file.resolve())
    assert job["relabel_configs"][-1] == {"target_label": "__address__",
                                          "replacement": "127.0.0.1:19117"}
    assert (job["scrape_interval"], job["scrape_timeout"]) == ("2s", "2s")
    assert SD_TOKEN not in paths.blackbox_job.read_text()
    run(tool("promtool"), "check", "config", paths.blackbox_job)
    again = render(tmp_path / "out", exporter="127.0.0.1:19117", portal="127.0.0.1:18000",
                   alertmanager="127.0.0.1:19093", webhook_token_file=token_file)
    assert again.blackbox_job is None and not paths.blackbox_job.exists()  # no stale copy


def test_render_without_the_flag_has_no_such_job_and_the_flag_needs_the_token(
        tmp_path, token_file, sd_token_file):
    plain = render(tmp_path / "plain", exporter="127.0.0.1:19117", portal="127.0.0.1:18000",
                   alertmanager="127.0.0.1:19093", webhook_token_file=token_file)
    jobs = [j["job_name"] for j in _jobs(plain.prometheus)]
    assert BLACKBOX_JOB not in jobs and plain.blackbox_job is None
    with pytest.raises(RenderError, match="--blackbox-job needs --sd-token-file"):
        render(tmp_path / "x", exporter="127.0.0.1:1", portal="127.0.0.1:2",
               alertmanager="127.0.0.1:3", webhook_token_file=token_file, blackbox_job=True)
    with pytest.raises(RenderError, match=r"--sd-token-file .* must be an existing, non-empty"):
        render(tmp_path / "x", exporter="127.0.0.1:1", portal="127.0.0.1:2",
               alertmanager="127.0.0.1:3", webhook_token_file=token_file, blackbox_job=True,
               sd_token_file=tmp_path / "none")


class _Stand:
    """The portal's /api/sd/targets (bearer SD_TOKEN) and a web server to probe (/ok)."""

    def __init__(self, groups: list[dict]) -> None:
        stand = self
        self.groups = groups

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                if self.path == "/ok":
                    self._answer(200, {"status": "ok"})
                elif self.headers.get("Authorization") != f"Bearer {SD_TOKEN}":
                    self._answer(401, {"error": "a valid bearer token is required"})
                else:
                    self._answer(200, stand.groups)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"


@contextmanager
def _serving(stand: _Stand) -> Iterator[_Stand]:
    threading.Thread(target=stand.server.serve_forever, daemon=True).start()
    try:
        yield stand
    finally:
        stand.server.shutdown()
        stand.server.server_close()


def _group(server_id: int, name: str, kind: str, address: str, **settings: str) -> dict:
    """Shaped as the portal serves it: every SD setting, empty where unset."""
    meta = {name: "" for name in SD_SETTINGS}
    meta.update(interval_s="1", timeout_s="1", down_after="1", **settings)
    return {"targets": [address], "labels": {
        "server_id": str(server_id), "server": name, "kind": kind, "environment": "production",
        **{f"__meta_servermon_{key}": value for key, value in meta.items()}}}


@pytest.mark.e2e
def test_the_blackbox_job_and_the_exporter_job_agree_per_instance(
        tmp_path, token_file, sd_token_file):
    closed = free_port()  # nothing listens there
    stand = _Stand([])
    stand.groups = [
        _group(1, "web-up", "http", f"http://{stand.address}/ok",
               http_accepted_statuses="200-299", http_method="GET"),
        _group(2, "db-down", "tcp", f"127.0.0.1:{closed}"),
    ]
    with _serving(stand), exporter_process(
            tmp_path, SD_TOKEN, PORTAL_URL=f"http://{stand.address}",
            REDIS_URL=EXPORTER_REDIS_URL) as exporter:
        paths = render(tmp_path / "out", exporter=exporter.removeprefix("http://"),
                       portal=stand.address, alertmanager=f"127.0.0.1:{free_port()}",
                       webhook_token_file=token_file, scrape_interval="1s",
                       evaluation_interval="1s", blackbox_job=True,
                       sd_token_file=sd_token_file)
        # One Prometheus with both jobs, for this comparison only (render never puts them
        # together): the exporter job as servermon's, the classic job as another's.
        both = yaml.safe_load(paths.prometheus.read_text())
        both["scrape_configs"] += _jobs(paths.blackbox_job)
        both_yml = tmp_path / "both.yml"
        both_yml.write_text(yaml.safe_dump(both))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        args = [tool("prometheus"), f"--config.file={both_yml}",
                f"--storage.tsdb.path={tmp_path / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{port}"]
        with running(args, f"{url}/-/ready", tmp_path / "prometheus.log"):

            def both_jobs() -> dict | None:
                result = requests.get(f"{url}/api/v1/query", timeout=5, params={
                    "query": f'probe_success{{job=~"{EXPORTER_JOB}|{BLACKBOX_JOB}"}}'}
                ).json()["data"]["result"]
                found = {(r["metric"]["job"], r["metric"]["instance"]): r for r in result}
                return found if len(found) == 4 else None

            found = wait_for(both_jobs, timeout=30, what="probe_success from both jobs",
                             context=lambda: (tmp_path / "exporter.log").read_text())
            ups = requests.get(f"{url}/api/v1/query", timeout=5, params={
                "query": f'up{{job="{BLACKBOX_JOB}"}}'}).json()["data"]["result"]

    values = {key: r["value"][1] for key, r in found.items()}
    assert values == {(EXPORTER_JOB, "web-up"): "1", (BLACKBOX_JOB, "web-up"): "1",
                      (EXPORTER_JOB, "db-down"): "0", (BLACKBOX_JOB, "db-down"): "0"}
    for name in ("web-up", "db-down"):
        labels = [{k: v for k, v in found[(job, name)]["metric"].items() if k != "job"}
                  for job in (EXPORTER_JOB, BLACKBOX_JOB)]
        assert labels[0] == labels[1], labels  # server_id, server, kind, environment, group
    assert sorted(r["value"][1] for r in ups) == ["1", "1"]  # /probe took the bearer token
    assert "__param" not in json.dumps(list(found.values()))

