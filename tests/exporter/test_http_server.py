"""/probe (guarded by the SD token), /healthz and /metrics (open) on the running exporter."""


import requests

from tests.exporter.conftest import SD_TOKEN, promtool_check
from tests.support.waiting import wait_for

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
             ({"target": "x", "module": "smtp"},
              "unknown module 'smtp' (known: http, tcp, icmp, dns, http_2xx,"),
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


def test_blackbox_module_names_answer_as_blackbox_would(running, http_base, closed_port):
    """A Prometheus job written for blackbox_exporter: target, module, the timeout header."""
    host = http_base.removeprefix("http://")
    up = probe(running, target=f"{host}/ok", module="http_2xx")
    assert "\nprobe_success 1\n" in up.text and "\nprobe_http_status_code 200\n" in up.text
    redirect = probe(running, target=f"{http_base}/redirect", module="http_2xx", format="json")
    assert redirect.json()["success"] is True  # followed to /ok, as blackbox does
    post = probe(running, target=f"{http_base}/error", module="http_post_2xx", format="json")
    assert post.json()["status_code"] == 503 and post.json()["success"] is False
    tcp = probe(running, target=f"127.0.0.1:{closed_port}", module="tcp_connect", format="json")
    assert tcp.json()["reason"] == "connection refused"
    stalled = requests.get(f"{running.base}/probe", timeout=10,
                           params={"target": f"{http_base}/stall", "module": "http_2xx",
                                   "format": "json"},
                           headers={**AUTH, "X-Prometheus-Scrape-Timeout-Seconds": "1"})
    assert stalled.json()["reason"] == "timeout after 0.5s"


def test_debug_true_shows_the_module_and_the_metrics_without_secrets(running, http_base):
    answer = probe(running, target=f"{http_base}/ok", module="http_2xx", debug="true",
                   http_bearer_token="do-not-show-me")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    text = answer.text
    assert text.startswith("Logs for the probe:\nmodule=http_2xx prober=http target=http://")
    assert "Metrics that would have been returned:\n" in text and "probe_success 1" in text
    assert "Module configuration:\nprober: http\n" in text
    assert "http_accepted_statuses: 200-299" in text
    assert "http_bearer_token: <secret>" in text and "do-not-show-me" not in text


def _blackbox_exporter(start_exporter, sd_server, tmp_path, text: str):
    path = tmp_path / "blackbox.yml"
    path.write_text(text)
    exporter = start_exporter(sd_server.url, BLACKBOX_CONFIG=str(path))
    wait_for(lambda: exporter.exporter.scheduler.loaded and exporter.exporter.discovery.up)
    return exporter


def test_blackbox_config_modules_and_a_dns_module_whose_target_is_the_resolver(
        start_exporter, sd_server, tmp_path, dns_server, http_base):
    exporter = _blackbox_exporter(start_exporter, sd_server, tmp_path, """
modules:
  dns_mx:
    prober: dns
    timeout: 2s
    dns: {query_name: bank.test, query_type: MX}
  dns_missing:
    prober: dns
    dns: {query_name: nowhere.bank.test, query_type: A}
  health:
    prober: http
    http:
      fail_if_body_not_matches_regexp: ['ALL\\s+GOOD']
""")
    mx = probe(exporter, target=dns_server, module="dns_mx", format="json").json()
    assert mx["success"] is True and mx["dns_lookup_time_seconds"] > 0
    missing = probe(exporter, target=dns_server, module="dns_missing", format="json").json()
    assert missing["success"] is False
    health = probe(exporter, target=f"{http_base}/ok", module="health", format="json").json()
    assert health["success"] is True
    unknown = probe(exporter, target=f"{http_base}/ok", module="http_2xx")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unknown module 'http_2xx' (known: http, tcp, icmp, dns, " \
                                      "dns_missing, dns_mx, health)"
    denied = probe(exporter, target="169.254.0.53", module="dns_mx", format="json")
    assert denied.status_code == 400 and denied.json()["field"] == "dns_resolver"


def test_blackbox_dns_answer_validation(start_exporter, sd_server, tmp_path, dns_server):
    exporter = _blackbox_exporter(start_exporter, sd_server, tmp_path, """
modules:
  mx_is_mail:
    prober: dns
    dns:
      query_name: bank.test
      query_type: MX
      validate_answer_rrs: {fail_if_none_matches_regexp: ['mail\\.bank\\.test\\.$']}
  mx_is_not_mail:
    prober: dns
    dns:
      query_name: bank.test
      query_type: MX
      validate_answer_rrs: {fail_if_matches_regexp: ['mail\\.bank']}
""")
    good = probe(exporter, target=dns_server, module="mx_is_mail", format="json").json()
    bad = probe(exporter, target=dns_server, module="mx_is_not_mail", format="json").json()
    assert good["success"] is True and bad["success"] is False
    assert bad["reason"].startswith("DNS an answer record matches")


def test_a_long_query_string_as_the_classic_job_sends_is_read(running, http_base):
    """A server's client certificate, key and 64 KiB body travel in /probe's URL."""
    body = "x" * 60_000
    answer = probe(running, target=f"{http_base}/ok", module="http", http_method="POST",
                   http_body=body, format="json")
    assert answer.status_code == 200 and answer.json()["success"] is True
