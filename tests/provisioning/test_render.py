"""provisioning/render.py: the committed configs with this machine's addresses, token
file and timings, accepted by promtool and amtool; bad values refused up front."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from provisioning.render import ROOT, RenderedPaths, RenderError, render
from tests.provisioning.conftest import SD_TOKEN, TOKEN, run, tool


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def alerts(rendered: RenderedPaths) -> dict[str, dict]:
    return {rule["alert"]: rule for path in rendered.rules for group in load(path)["groups"]
            for rule in group["rules"] if "alert" in rule}


def test_promtool_accepts_the_rendered_prometheus_config_and_rules(rendered):
    output = run(tool("promtool"), "check", "config", rendered.prometheus)
    assert f"SUCCESS: {len(rendered.rules)} rule files found" in output


def test_amtool_accepts_the_rendered_alertmanager_config(rendered):
    run(tool("amtool"), "check-config", rendered.alertmanager)


def test_the_server_down_window_and_its_description_change_together(rendered):
    down = alerts(rendered)["ServerDown"]
    assert down["for"] == "3s"
    assert down["annotations"]["description"].endswith("failed its probe and the confirming retry.")


def test_every_runbook_url_is_the_portals_runbook_page(rendered):
    for name, rule in alerts(rendered).items():
        assert rule["annotations"]["runbook_url"] == f"https://servermon.bank.example/runbooks/{name}"


def test_prometheus_scrapes_and_alerts_the_given_addresses_with_the_given_timings(rendered):
    config = load(rendered.prometheus)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["servermon-exporter"]["static_configs"] == [{"targets": ["127.0.0.1:19117"]}]
    assert jobs["servermon-exporter"]["scrape_interval"] == "1s"
    assert jobs["servermon-exporter"]["scrape_timeout"] == "1s"
    assert jobs["servermon-portal"]["static_configs"] == [{"targets": ["127.0.0.1:18000"]}]
    assert jobs["servermon-portal"]["metrics_path"] == "/metrics"
    assert config["global"]["evaluation_interval"] == "1s"
    assert config["alerting"]["alertmanagers"] == [
        {"static_configs": [{"targets": ["127.0.0.1:19093"]}]}]


def test_the_nodes_job_asks_the_given_portal_with_the_sd_token_file_never_the_token(
        rendered, sd_token_file):
    jobs = {job["job_name"]: job for job in load(rendered.prometheus)["scrape_configs"]}
    nodes = jobs["servermon-nodes"]
    assert nodes["http_sd_configs"] == [{
        "url": "http://127.0.0.1:18000/api/sd/nodes", "refresh_interval": "30s",
        "authorization": {"type": "Bearer", "credentials_file": str(sd_token_file.resolve())}}]
    assert (nodes["scrape_interval"], nodes["scrape_timeout"]) == ("1s", "1s")
    assert nodes["honor_labels"] is False
    assert SD_TOKEN not in rendered.prometheus.read_text()


def test_without_the_sd_token_file_the_nodes_job_is_left_out(tmp_path, token_file):
    """Prometheus could not ask the portal for the list; every other job is kept."""
    paths = render(tmp_path, exporter="a:1", portal="b:2", alertmanager="c:3",
                   webhook_token_file=token_file)
    jobs = [job["job_name"] for job in load(paths.prometheus)["scrape_configs"]]
    assert jobs == ["servermon-exporter", "servermon-portal", "prometheus", "alertmanager"]
    with pytest.raises(RenderError, match=r"--sd-token-file .* must be an existing, non-empty"):
        render(tmp_path / "x", exporter="a:1", portal="b:2", alertmanager="c:3",
               webhook_token_file=token_file, sd_token_file=tmp_path / "none")


def test_prometheus_loads_the_rendered_rules_by_absolute_path(rendered):
    rule_files = load(rendered.prometheus)["rule_files"]
    assert rule_files == [str(path) for path in rendered.rules]
    assert all(Path(path).is_absolute() and Path(path).is_file() for path in rule_files)
    assert [Path(p).name for p in rule_files] == [
        "baselines.rules.yml", "recording.rules.yml", "resources.rules.yml", "servermon.rules.yml",
        "warnings.rules.yml"]


def test_alertmanager_posts_to_the_portal_with_the_token_file_never_the_token(rendered, token_file):
    config = load(rendered.alertmanager)
    [hook] = config["receivers"][0]["webhook_configs"]
    assert hook["url"] == "http://127.0.0.1:18000/api/alertmanager/webhook"
    assert hook["http_config"]["authorization"] == {
        "type": "Bearer", "credentials_file": str(token_file.resolve())}
    assert hook["send_resolved"] is True and hook["max_alerts"] == 0
    assert config["route"]["group_wait"] == "1s" and config["route"]["group_interval"] == "2s"
    assert TOKEN not in rendered.alertmanager.read_text()


def test_timings_left_out_keep_the_committed_values(tmp_path, token_file, sd_token_file):
    paths = render(tmp_path, exporter="exporter:9117", portal="portal:8000",
                   alertmanager="alertmanager:9093", webhook_token_file=token_file,
                   sd_token_file=sd_token_file)
    committed_prometheus = load(ROOT / "provisioning/prometheus/prometheus.yml")
    prometheus = load(paths.prometheus)
    assert prometheus["global"] == committed_prometheus["global"]
    # The one value not an address or a timing: where this machine keeps SD_TOKEN.
    nodes = next(job for job in committed_prometheus["scrape_configs"]
                 if job["job_name"] == "servermon-nodes")
    nodes["http_sd_configs"][0]["authorization"]["credentials_file"] = str(sd_token_file.resolve())
    assert prometheus["scrape_configs"] == committed_prometheus["scrape_configs"]
    committed_route = load(ROOT / "provisioning/alertmanager/alertmanager.yml")["route"]
    assert load(paths.alertmanager)["route"] == committed_route
    for path in paths.rules:
        assert load(path) == load(ROOT / "alert_rules" / path.name)


def test_a_rule_file_gone_from_the_source_is_removed_from_the_output(tmp_path, token_file):
    stale = tmp_path / "rules" / "renamed.rules.yml"
    stale.parent.mkdir()
    stale.write_text("groups: []\n")
    paths = render(tmp_path, exporter="a:1", portal="b:2", alertmanager="c:3",
                   webhook_token_file=token_file)
    assert sorted((tmp_path / "rules").iterdir()) == sorted(paths.rules)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("server_down_for", "soon", "--server-down-for must be a Prometheus duration"),
    ("server_down_for", "", "--server-down-for must be a Prometheus duration"),
    ("scrape_interval", "0s", "--scrape-interval must be longer than 0"),
    ("evaluation_interval", "5", "--evaluation-interval must be a Prometheus duration"),
    ("group_wait", "5 s", "--group-wait must be a Prometheus duration"),
    ("group_interval", "m1", "--group-interval must be a Prometheus duration"),
    ("exporter", "127.0.0.1", "--exporter must be host:port"),
    ("portal", "http://portal:8000", "--portal must be host:port"),
    ("alertmanager", "am:99999", "--alertmanager must be host:port"),
    ("portal_url", "servermon.bank.example", "--portal-url must be an http(s) URL"),
    ("remote_write", ["victoriametrics:8428"], "--remote-write must be an http(s) URL"),
])
def test_it_refuses_a_bad_value_naming_the_option_before_writing(tmp_path, token_file, option,
                                                                 value, message):
    values = {"exporter": "a:1", "portal": "b:2", "alertmanager": "c:3", option: value}
    with pytest.raises(RenderError, match=re.escape(message)):
        render(tmp_path / "out", webhook_token_file=token_file, **values)
    assert not (tmp_path / "out").exists()


def test_remote_write_urls_are_added_and_accepted_by_promtool(tmp_path, token_file):
    addresses = {"exporter": "a:1", "portal": "b:2", "alertmanager": "c:3"}
    plain = render(tmp_path / "plain", webhook_token_file=token_file, **addresses)
    assert "remote_write" not in load(plain.prometheus)
    urls = ["http://127.0.0.1:8428/api/v1/write", "https://mimir.bank.example/api/v1/push"]
    paths = render(tmp_path / "out", webhook_token_file=token_file, remote_write=urls, **addresses)
    assert load(paths.prometheus)["remote_write"] == [{"url": url} for url in urls]
    run(tool("promtool"), "check", "config", paths.prometheus)


def test_the_remote_write_example_is_a_block_promtool_accepts(rendered):
    config = load(rendered.prometheus)
    config.update(load(ROOT / "provisioning/prometheus/remote_write.example.yml"))
    rendered.prometheus.write_text(yaml.safe_dump(config))
    run(tool("promtool"), "check", "config", rendered.prometheus)


def test_it_refuses_a_missing_token_file(tmp_path):
    with pytest.raises(RenderError, match=r"--webhook-token-file .* must be an existing"):
        render(tmp_path, exporter="a:1", portal="b:2", alertmanager="c:3",
               webhook_token_file=tmp_path / "missing")


def test_the_command_line_writes_the_set(tmp_path, token_file):
    out = tmp_path / "provisioning"
    result = subprocess.run(
        [sys.executable, "-m", "provisioning.render", "--out", str(out),
         "--webhook-token-file", str(token_file), "--exporter", "127.0.0.1:9117",
         "--portal", "127.0.0.1:8000", "--alertmanager", "127.0.0.1:9093",
         "--server-down-for", "15s", "--group-wait", "2s", "--rules-dir", "alert_rules"],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "5 rule files" in result.stdout
    assert "no --sd-token-file: job servermon-nodes" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["alertmanager.yml", "prometheus.yml", "rules"]
    assert load(out / "alertmanager.yml")["route"]["group_wait"] == "2s"
    assert "remote_write" not in load(out / "prometheus.yml")


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path, token_file):
    result = subprocess.run(
        [sys.executable, "-m", "provisioning.render", "--out", str(tmp_path / "out"),
         "--webhook-token-file", str(token_file), "--server-down-for", "soon"],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == ("servermon: configuration error: --server-down-for must be a "
                             "Prometheus duration such as 15s or 1m30s, got 'soon'\n")
