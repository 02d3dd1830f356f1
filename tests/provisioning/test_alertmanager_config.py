"""The committed Alertmanager config: valid, everything to the portal, one group per
alert per server, and the inhibitions that keep one outage from paging three times."""

from __future__ import annotations

import pytest
import yaml

from provisioning.render import ALERTMANAGER_YML
from tests.provisioning.conftest import run, tool

CONFIG = yaml.safe_load(ALERTMANAGER_YML.read_text())


def test_amtool_accepts_the_committed_config():
    run(tool("amtool"), "check-config", ALERTMANAGER_YML)


@pytest.mark.parametrize("labels", [
    ["alertname=ServerDown", "server_id=7", "severity=critical"],
    ["alertname=TLSCertificateExpiringSoon", "server_id=7", "severity=warning"],
    ["alertname=ExporterDown", "server_id=servermon", "severity=critical"],
    ["alertname=NodeDiskFullIn4h", "server_id=7", "severity=critical", "mountpoint=/var"],
    ["alertname=HeartbeatRunLong", "server_id=40", "severity=warning"],
])
def test_every_alert_goes_to_the_portal(labels):
    output = run(tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}",
                 "--verify.receivers=portal", *labels)
    assert output.splitlines()[0] == "portal"


def test_portal_down_is_mailed_by_alertmanager_itself_and_the_watchdog_repeats_each_minute():
    output = run(tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}",
                 "--verify.receivers=admins-email", "alertname=PortalDown", "server_id=servermon")
    assert output.splitlines()[0] == "admins-email"
    [watchdog] = [route for route in CONFIG["route"]["routes"]
                  if route["matchers"] == ['alertname="Watchdog"']]
    # Sent at every 1-minute tick: a repeat_interval equal to it would send every other one.
    assert (watchdog["receiver"], watchdog["group_interval"], watchdog["repeat_interval"]) == \
        ("portal", "1m", "50s")
    assert CONFIG["global"]["smtp_smarthost"] == "smtp:25"


def test_alerts_are_grouped_per_alert_and_server_with_short_waits():
    route = CONFIG["route"]
    assert route["group_by"] == ["alertname", "server_id"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == \
        ("5s", "1m", "4h")


def test_the_portal_gets_resolutions_and_every_alert_with_a_token_from_a_file():
    [receiver] = [r for r in CONFIG["receivers"] if r["name"] == "portal"]
    [hook] = receiver["webhook_configs"]
    assert hook["url"] == "http://portal:8000/api/alertmanager/webhook"
    assert hook["send_resolved"] is True and hook["max_alerts"] == 0
    assert hook["http_config"]["authorization"] == {
        "type": "Bearer", "credentials_file": "/run/secrets/alertmanager_webhook_token"}


def inhibition(source: str) -> dict:
    [rule] = [rule for rule in CONFIG["inhibit_rules"]
              if rule["source_matchers"] == [f'alertname="{source}"']]
    return rule


def test_server_down_mutes_the_warnings_of_the_same_server():
    down = inhibition("ServerDown")
    assert down["target_matchers"] == [
        'alertname=~"ServerSlow|ServerPacketLoss|TLSCertificateExpiringSoon|LatencyDrift|'
        'HeartbeatRunLong|NodeDown"']
    assert down["equal"] == ["server_id"]


def test_a_lost_node_exporter_mutes_that_servers_resource_alerts_and_slow_mutes_drift():
    node_down = inhibition("NodeDown")
    assert node_down["target_matchers"] == [
        'alertname=~"NodeCPUSaturated|NodeMemoryPressure|NodeDiskFullIn4h|NodeDiskFullIn24h|'
        'NodeFilesystemReadOnly"']
    slow = inhibition("ServerSlow")
    assert slow["target_matchers"] == ['alertname="LatencyDrift"']
    assert node_down["equal"] == slow["equal"] == ["server_id"]
