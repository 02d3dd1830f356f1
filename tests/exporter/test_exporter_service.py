"""The whole exporter against the real portal: discovery, notices, scrape, results in Redis."""

import asyncio
import json
import subprocess
import time

import pytest
import requests

from exporter.config import ExporterConfig
from exporter.service import Exporter
from portal.extensions import db
from portal.redis_client import get_redis
from portal.servers.ingest import StreamConsumer
from portal.servers.models import ServerEvent
from tests.conftest import TEST_REDIS_URL
from tests.exporter.conftest import Background
from tests.factories import login, make_server, make_user
from tests.support.binaries import binary, free_port
from tests.support.live_server import serving

SD_TOKEN = "sd-token-for-tests-0123456789"


def wait_for(check, timeout=10, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def running_exporter(app):
    """The portal served for real, and the exporter (in its own loop) pointed at it."""
    with serving(app) as address:
        port = free_port()
        config = ExporterConfig.from_env({
            "PORTAL_URL": f"http://{address}", "SD_TOKEN": SD_TOKEN, "REDIS_URL": TEST_REDIS_URL,
            "EXPORTER_PORT": str(port), "EXPORTER_LISTEN": "127.0.0.1", "SD_REFRESH_S": "60",
        })
        background = Background()
        exporter = Exporter(config)
        background.call(exporter.start())
        try:
            yield f"http://127.0.0.1:{port}", exporter, address
        finally:
            background.call(exporter.stop())
            background.stop()


def scrape(base):
    return requests.get(f"{base}/metrics", timeout=5).text


def test_it_probes_what_the_portal_registers_and_exposes_valid_metrics(
        running_exporter, http_base, closed_port):
    ok = make_server("web", kind="http", target=f"{http_base}/ok", interval_s=10, timeout_s=2,
                     labels={"team": "payments"}, environment="production")
    bad = make_server("db", kind="tcp", target=f"127.0.0.1:{closed_port}", interval_s=10,
                      timeout_s=2, confirm_down=False)
    base, _exporter, _ = running_exporter
    get_redis().publish("servermon:targets", json.dumps({"server_id": ok.id, "action": "created"}))
    def both_probed():
        text = scrape(base)
        return text if (f'probe_success{{server_id="{bad.id}"' in text and
                        f'probe_success{{server_id="{ok.id}"' in text) else None

    text = wait_for(both_probed, timeout=15)
    assert (f'probe_success{{server_id="{ok.id}",server="web",kind="http",'
            f'environment="production",group="",team="payments"}} 1.0') in text
    assert f'probe_success{{server_id="{bad.id}",server="db",kind="tcp"' in text
    assert "servermon_targets 2.0" in text and "servermon_sd_up 1.0" in text
    check = subprocess.run([binary("promtool"), "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_new_server_is_picked_up_within_a_second_of_the_notice(running_exporter, http_base):
    base, exporter, _ = running_exporter
    wait_for(lambda: exporter.scheduler.states == {} and "servermon_sd_up 1.0" in scrape(base))
    server = make_server("late", kind="http", target=f"{http_base}/ok", interval_s=10,
                         timeout_s=2)  # make_server announces the change on Redis
    started = time.monotonic()
    wait_for(lambda: server.id in exporter.scheduler.states, timeout=3, every=0.02)
    assert time.monotonic() - started < 1.0


def test_results_and_state_changes_reach_the_portal(running_exporter, client, closed_port):
    server = make_server("db", kind="tcp", target=f"127.0.0.1:{closed_port}", interval_s=10,
                         timeout_s=2, confirm_down=False)
    get_redis().publish("servermon:targets", "{}")
    latest = wait_for(lambda: get_redis().hget("servermon:latest", str(server.id)), timeout=15)
    assert json.loads(latest)["reason"] == "connection refused"
    StreamConsumer(client.application, "test", block_ms=10).run_once()
    event = db.session.scalar(db.select(ServerEvent).where(ServerEvent.server_id == server.id))
    assert (event.status, event.previous, event.reason) == ("down", "unknown",
                                                             "connection refused")
    headers = login(client, make_user("ebanking_support"))
    shown = client.get(f"/api/servers/{server.id}", headers=headers).get_json()
    assert shown["status"] == "down" and shown["reason"] == "connection refused"
    assert shown["last_checked"] is not None
    logs = client.get(f"/api/servers/{server.id}/logs", headers=headers).get_json()
    assert logs["items"][0]["reason"] == "connection refused"


def test_it_keeps_probing_the_last_list_when_the_portal_is_away(app, http_base):
    port = free_port()
    config = ExporterConfig.from_env({
        "PORTAL_URL": "http://127.0.0.1:1", "SD_TOKEN": SD_TOKEN, "REDIS_URL": TEST_REDIS_URL,
        "EXPORTER_PORT": str(port), "EXPORTER_LISTEN": "127.0.0.1"})
    exporter = Exporter(config)

    async def scenario():
        from exporter.targets import Target

        group = {"targets": [f"{http_base}/ok"], "labels": {
            "server_id": "9", "server": "kept", "kind": "http",
            "__meta_servermon_interval_s": "10", "__meta_servermon_timeout_s": "2"}}
        exporter.scheduler.update([Target.from_group(group)])
        await exporter.start()
        await asyncio.sleep(0.5)
        return exporter.scheduler.states.keys()

    background = Background()
    try:
        kept = background.call(scenario())
        text = scrape(f"http://127.0.0.1:{port}")
        assert 9 in kept
        assert "servermon_sd_up 0.0" in text
    finally:
        background.call(exporter.stop())
        background.stop()


def test_probe_endpoint_needs_the_token_and_answers_json(running_exporter, closed_port):
    base, _, _ = running_exporter
    url = f"{base}/probe?target=127.0.0.1:{closed_port}&module=tcp&format=json"
    assert requests.get(url, timeout=5).status_code == 401
    answer = requests.get(url, headers={"Authorization": f"Bearer {SD_TOKEN}"}, timeout=5)
    assert answer.json()["success"] is False and answer.json()["reason"] == "connection refused"
    bad = requests.get(f"{base}/probe?target=x&module=smtp",
                       headers={"Authorization": f"Bearer {SD_TOKEN}"}, timeout=5)
    assert bad.status_code == 400 and "module" in bad.json()["error"]
    text = requests.get(url.replace("&format=json", ""),
                        headers={"Authorization": f"Bearer {SD_TOKEN}"}, timeout=5).text
    assert f'probe_success{{target="127.0.0.1:{closed_port}",kind="tcp"}} 0.0' in text


def test_a_bad_setting_stops_start_up_with_one_line():
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SD_TOKEN"}
    env["EXPORTER_PORT"] = "99999"
    env["SD_TOKEN"] = "x" * 20
    result = subprocess.run([sys.executable, "-m", "exporter"], capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == ("servermon-exporter: configuration error: EXPORTER_PORT "
                                     "must be between 1 and 65535, got 99999")
