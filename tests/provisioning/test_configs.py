"""Rules and configs checked by the real promtool, amtool, Prometheus and Alertmanager."""

import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from provisioning.render import ALERTMANAGER_YML, ROOT, render
from tests.support.binaries import alertmanager, binary, free_port, running

RULES = sorted((ROOT / "alert_rules").glob("*.yml"))


def run(*args, cwd=None):
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def rendered(tmp_path):
    token = tmp_path / "token"
    token.write_text("am-token-0123456789abcdef\n")
    return render(tmp_path / "out", exporter="127.0.0.1:19117", portal="127.0.0.1:18000",
                  alertmanager=f"127.0.0.1:{free_port()}", webhook_token_file=token,
                  server_down_for="3s", group_wait="1s", group_interval="2s",
                  runbook_base="https://wiki.bank.example/servermon/")


def test_committed_rules_pass_promtool_check():
    output = run(binary("promtool"), "check", "rules", *map(str, RULES))
    assert output.count("SUCCESS") == len(RULES)


def test_rule_unit_tests_pass():
    tests = sorted((ROOT / "alert_rules" / "tests").glob("*.test.yml"))
    assert tests
    run(binary("promtool"), "test", "rules", *map(str, tests))


def test_every_alert_has_severity_server_and_the_three_annotations():
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                labels = rule.get("labels", {})
                assert labels.get("severity") in ("warning", "critical"), rule["alert"]
                expr_keeps_server = "probe_" in rule["expr"] or "registered" in rule["expr"]
                assert expr_keeps_server or {"server_id", "server"} <= set(labels), rule["alert"]
                assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])


def test_committed_alertmanager_config_passes_amtool():
    run(binary("amtool"), "check-config", str(ALERTMANAGER_YML))


def test_rendered_configs_pass_the_checkers_with_the_substitutions(rendered):
    run(binary("promtool"), "check", "config", str(rendered.prometheus))
    run(binary("amtool"), "check-config", str(rendered.alertmanager))
    manager = yaml.safe_load(rendered.alertmanager.read_text())
    hook = manager["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == "http://127.0.0.1:18000/api/alertmanager/webhook"
    assert Path(hook["http_config"]["authorization"]["credentials_file"]).read_text().strip()
    assert manager["route"]["group_wait"] == "1s"
    rules = yaml.safe_load((rendered.prometheus.parent / "rules" /
                            "servermon.rules.yml").read_text())
    down = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "ServerDown")
    assert down["for"] == "3s"
    assert down["annotations"]["runbook_url"] == \
        "https://wiki.bank.example/servermon/ServerDown"
    prometheus = yaml.safe_load(rendered.prometheus.read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["servermon-exporter"]["static_configs"][0]["targets"] == ["127.0.0.1:19117"]


def test_a_malformed_duration_is_refused(tmp_path):
    with pytest.raises(ValueError, match="server_down_for"):
        render(tmp_path, exporter="a:1", portal="b:2", alertmanager="c:3",
               webhook_token_file=tmp_path / "t", server_down_for="soon")


def test_real_prometheus_loads_every_rule(rendered, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [binary("prometheus"), f"--config.file={rendered.prometheus}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"]
    with running(args, f"{url}/-/ready", tmp_path / "prometheus.log"):
        groups = requests.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    expected = {rule.get("alert") or rule.get("record") for path in RULES
                for group in yaml.safe_load(path.read_text())["groups"]
                for rule in group["rules"]}
    assert names == expected


def test_real_alertmanager_loads_the_route(rendered, tmp_path):
    with alertmanager(rendered.alertmanager, tmp_path) as url:
        status = requests.get(f"{url}/api/v2/status", timeout=5).json()
    assert "receiver: portal" in status["config"]["original"]
    assert "group_by:" in status["config"]["original"]
