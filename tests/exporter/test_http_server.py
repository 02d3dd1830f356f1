"""/probe (guarded by the SD token), /healthz and /metrics (open) on the running exporter."""

import requests

from tests.exporter.conftest import SD_TOKEN, promtool_check

AUTH = {"Authorization": f"Bearer {SD_TOKEN}"}


def probe(running, headers=AUTH, **params):
    return requests.get(f"{running.base}/probe", params=params, headers=headers, timeout=10)


def test_probe_needs_the_token(running, closed_port):
    target = f"127.0.0.1:{closed_port}"
    assert probe(running, headers={}, target=target, module="tcp").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-0123456789"}
    answer = probe(running, headers=wrong, target=target, module="tcp")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"


def test_probe_answers_json_for_the_test_now_button(running, closed_port, http_base):
    down = probe(running, target=f"127.0.0.1:{closed_port}", module="tcp", format="json").json()
    assert down["success"] is False and down["reason"] == "connection refused"
    assert down["duration_seconds"] >= 0 and down["checked_at"].endswith("+00:00")
    up = probe(running, target=f"{http_base}/ok", module="http", format="json").json()
    assert up["success"] is True and up["reason"] is None and up["status_code"] == 200


def test_probe_answers_prometheus_text_with_the_reason(running, http_base):
    answer = probe(running, target=f"{http_base}/error", module="http")
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "\nprobe_success 0\n" in answer.text
    assert "\nprobe_http_status_code 503\n" in answer.text
    assert 'probe_failure_info{reason="status"} 1' in answer.text
    assert promtool_check(answer.text).returncode == 0


def test_probe_takes_the_probe_settings_as_parameters(running, dns_server, http_base):
    dns = probe(running, target="bank.test", module="dns", dns_record_type="MX",
                dns_resolver=dns_server, dns_expected="mail.bank.test", format="json").json()
    assert dns["success"] is True and dns["dns_lookup_time_seconds"] > 0
    stalled = probe(running, target=f"{http_base}/stall", module="http", timeout="0.3",
                    format="json").json()
    assert stalled["reason"] == "timeout after 0.3s"
    keyword = probe(running, target=f"{http_base}/ok", http_keyword="OK", format="json").json()
    assert keyword["reason"] == "keyword 'OK' missing"


def test_probe_refuses_bad_parameters_naming_them(running):
    cases = [({"module": "tcp"}, "target is required"),
             ({"target": "x", "module": "smtp"}, "module must be one of http, tcp, icmp, dns"),
             ({"target": "db1", "module": "tcp"}, "target must be host:port"),
             ({"target": "db1:1", "module": "tcp", "timeout": "soon"},
              "timeout_s must be a number, got 'soon'")]
    for params, message in cases:
        answer = probe(running, **params)
        assert answer.status_code == 400 and answer.json()["error"].startswith(message), params


def test_metrics_and_healthz_are_open(running):
    metrics = requests.get(f"{running.base}/metrics", timeout=5)
    assert metrics.status_code == 200 and "servermon_sd_up 1.0" in metrics.text
    assert promtool_check(metrics.text).returncode == 0
    health = requests.get(f"{running.base}/healthz", timeout=5).json()
    assert health == {"status": "ok", "targets": 0, "sd_up": True, "redis_up": True,
                      "deployment_conflict": False}


def test_probe_refuses_a_denied_target_naming_it_before_connecting(running):
    """What "test now" shows: a 400 naming the field, not a probe result to read."""
    cases = [({"target": "http://169.254.169.254/latest/meta-data/", "module": "http"}, "target"),
             ({"target": "169.254.169.254", "module": "icmp"}, "target"),
             ({"target": f"127.0.0.1:{running.exporter.config.port}", "module": "tcp"}, "target"),
             ({"target": "bank.test", "module": "dns", "dns_resolver": "169.254.0.53"},
              "dns_resolver")]
    for params, field in cases:
        answer = probe(running, format="json", **params)
        assert answer.status_code == 400, params
        assert answer.json()["field"] == field
        assert answer.json()["error"].startswith(f"{field}: not probed: "), answer.json()
