"""The committed alerting and recording rules: valid, unit-tested, and following the
conventions the portal and the on-call staff rely on."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import yaml

from provisioning.render import DEFAULT_PORTAL_URL, PROMETHEUS_YML, RULE_FILES, RULES_DIR, runbook_url
from tests.provisioning.conftest import run, tool

RULE_PATHS = sorted(RULES_DIR.glob(RULE_FILES))
TEST_PATHS = sorted((RULES_DIR / "tests").glob("*.test.yml"))


def rules(kind: str) -> list[dict]:
    return [rule for path in RULE_PATHS for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if kind in rule]


def unit_tests() -> list[dict]:
    return [test for path in TEST_PATHS for test in yaml.safe_load(path.read_text())["tests"]]


def test_every_rule_file_exists():
    assert [p.name for p in RULE_PATHS] == ["baselines.rules.yml", "recording.rules.yml",
                                            "resources.rules.yml", "servermon.rules.yml",
                                            "warnings.rules.yml"]


def test_promtool_accepts_the_committed_rules():
    output = run(tool("promtool"), "check", "rules", *RULE_PATHS)
    assert output.count("SUCCESS") == len(RULE_PATHS)


def test_the_promtool_unit_tests_pass():
    assert TEST_PATHS
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", *TEST_PATHS)


def test_every_alert_is_tested_before_and_after_its_window():
    firing, quiet = set(), set()
    for test in unit_tests():
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in rules("alert")}
    assert names - firing == set(), "never seen firing"
    assert names - quiet == {"Watchdog"}, "never seen quiet"  # quiet only if Prometheus is


def test_every_alert_is_tested_with_its_labels_and_annotations():
    for test in unit_tests():
        for case in test.get("alert_rule_test", []):
            for alert in case.get("exp_alerts") or []:
                assert {"severity", "server_id", "server"} <= set(alert["exp_labels"]), case
                assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}


def test_every_recording_rule_is_tested():
    tested = {case["expr"] for test in unit_tests() for case in test.get("promql_expr_test", [])}
    assert {rule["record"] for rule in rules("record")} <= tested


def test_alerts_have_a_known_severity_a_server_and_the_three_annotations():
    for rule in rules("alert"):
        labels = rule.get("labels", {})
        # The Watchdog is no incident (the portal takes it as a heartbeat): severity none.
        assert labels.get("severity") in ("warning", "critical") or \
            (rule["alert"], labels.get("severity")) == ("Watchdog", "none"), rule["alert"]
        # Per-server alerts take server_id and server from the probe, portal, heartbeat or
        # resource series (job servermon-nodes labels each target with its server), or from
        # the per-server recordings of them.
        per_server = re.search(r"\b(probe_\w+|servermon_probe_\w+|servermon_server_registered|"
                               r"servermon_heartbeat_\w+|server:\w+|node_\w+|windows_\w+)\b|"
                               r'\{job="servermon-nodes"', rule["expr"])
        assert per_server or {"server_id", "server"} <= set(labels), rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, rule["alert"]


def test_alert_names_are_camel_case_and_runbooks_are_named_after_them():
    for rule in rules("alert"):
        # A window is written as Prometheus writes it: NodeDiskFullIn4h.
        assert re.fullmatch(r"(?:[A-Z][a-z]*|TLS|\d+[hd])+", rule["alert"]), rule["alert"]
        assert rule["annotations"]["runbook_url"] == runbook_url(DEFAULT_PORTAL_URL, rule["alert"])


def test_server_down_keeps_every_label_of_the_probe():
    [down] = [rule for rule in rules("alert") if rule["alert"] == "ServerDown"]
    assert down["expr"].strip() == "probe_success == 0"
    # The exporter confirms every failure: the first evaluation that sees one fires.
    assert down["for"] == "0s"


def test_recording_rules_are_named_level_metric_operations_after_their_window():
    for rule in rules("record"):
        level, metric, operations = rule["record"].split(":")
        assert level == "server", rule["record"]
        if metric == "probe_success":
            window = operations.removeprefix("avg_over_time_")
            assert rule["expr"] == f"avg_over_time(probe_success[{window}])"
            continue
        # The baselines: computed from the metric or its own recording, over the window
        # the name ends with (a range, or the farthest offset).
        window = operations.rsplit("_", 1)[1]
        assert re.search(rf"\b{metric}\b", rule["expr"]), rule["record"]
        assert re.search(rf"\[{window}[]:]|offset {window}\b", rule["expr"]), rule["record"]


def test_the_warnings_seen_coming_never_page():
    """They compare a server with its own past: never an outage, so never SMS."""
    warnings = yaml.safe_load((RULES_DIR / "warnings.rules.yml").read_text())["groups"]
    assert {rule["labels"]["severity"] for group in warnings for rule in group["rules"]} == {"warning"}
    [full_in_a_day] = [rule for rule in rules("alert") if rule["alert"] == "NodeDiskFullIn24h"]
    assert full_in_a_day["labels"]["severity"] == "warning"


def test_the_day_ahead_disk_warning_gives_way_to_the_page_in_the_same_group():
    """NodeDiskFullIn24h reads NodeDiskFullIn4h's ALERTS: rules of a group run in order, so
    the page must come first for the warning to see this round's state."""
    groups = yaml.safe_load((RULES_DIR / "resources.rules.yml").read_text())["groups"]
    [names] = [[rule["alert"] for rule in group["rules"]] for group in groups
               if any(rule["alert"] == "NodeDiskFullIn24h" for rule in group["rules"])]
    assert names.index("NodeDiskFullIn4h") < names.index("NodeDiskFullIn24h")


def test_prometheus_loads_every_rule_file_and_no_test_file():
    [pattern] = yaml.safe_load(PROMETHEUS_YML.read_text())["rule_files"]
    # docker-compose mounts alert_rules/ at the pattern's folder.
    mounted = Path(pattern).name
    assert [p.name for p in RULE_PATHS] == sorted(fnmatch.filter(
        [p.name for p in RULES_DIR.iterdir()], mounted))
    assert not fnmatch.filter([p.name for p in TEST_PATHS], mounted)
