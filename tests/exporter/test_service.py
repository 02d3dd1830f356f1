"""The whole exporter running: SD in, probes, a real scrape of /metrics, results in Redis."""

import json
import re
import time

import requests

from exporter import publish
from tests.exporter.conftest import group, load, promtool_check
from tests.support.waiting import wait_for
from wire import DEPLOYMENT_KEY, EVENTS_STREAM, LATEST_HASH, TARGETS_CHANNEL, channel
from wire.reasons import REASON_CODES


def sample(text: str, name: str, server_id: int, extra: str = "") -> str | None:
    """The value of ``name`` for one server in a scrape (its labels in between)."""
    match = re.search(rf'^{name}{{server_id="{server_id}",[^}}]*{extra}[^}}]*}} (\S+)$', text,
                      re.MULTILINE)
    return match.group(1) if match else None


def test_a_real_scrape_shows_every_kind_with_reasons_and_passes_promtool(
        running, sd_server, redis_db, http_base, tls_site, dns_server, closed_port):
    """Every kind, succeeding and failing, with blackbox's families; promtool finds
    nothing to complain of."""
    load(running, sd_server, [
        group(1, "http", f"{http_base}/ok", {"team": "payments", "environment": "production"},
              http_keyword="ALL GOOD"),
        group(2, "http", f"{http_base}/error", {"rack": "b2"}),
        group(3, "tcp", f"127.0.0.1:{closed_port}"),
        group(4, "http", f"{tls_site.base}/ok", tls_verify="false"),
        group(5, "http", f"{tls_site.base}/ok", tls_verify="true"),
        group(6, "dns", "www.bank.test", dns_resolver=dns_server, dns_expected="10.0.0.7"),
        group(7, "dns", "gone.bank.test", dns_resolver=dns_server),
        group(8, "icmp", "127.0.0.1", {"group": "core"}),
        group(9, "tcp", f"localhost:{tls_site.port}", tcp_tls="true", tls_verify="false"),
        group(10, "http", f"http://127.0.0.1:{closed_port}/"),
        group(11, "http", f"{http_base}/stall", timeout_s="0.5"),
        group(12, "dns", "localhost", dns_record_type="A"),
        group(13, "http", f"{http_base}/ok", http_keyword="NOT THERE"),
    ], redis_db)
    text = running.scrape()

    assert ('probe_success{server_id="1",server="server-1",instance="server-1",kind="http",'
            'environment="production",group="",team="payments"} 1') in text
    assert ('probe_success{server_id="8",server="server-8",instance="server-8",kind="icmp",environment="",'
            'group="core"} 1') in text
    successes = {i: sample(text, "probe_success", i) for i in range(1, 14)}
    assert successes == {1: "1", 2: "0", 3: "0", 4: "1", 5: "0", 6: "1", 7: "0", 8: "1", 9: "1",
                         10: "0", 11: "0", 12: "1", 13: "0"}
    assert sample(text, "probe_http_status_code", 2) == "503"
    assert float(sample(text, "probe_ssl_earliest_cert_expiry", 4)) == tls_site.expiry
    assert float(sample(text, "probe_ssl_earliest_cert_expiry", 9)) == tls_site.expiry
    assert float(sample(text, "probe_dns_lookup_time_seconds", 6)) > 0
    assert sample(text, "probe_http_duration_seconds", 1, 'phase="connect"') is not None
    assert sample(text, "probe_icmp_packet_loss_ratio", 8) == "0.0"
    assert sample(text, "probe_failure_info", 2, 'reason="status"') == "1"
    assert sample(text, "probe_failure_info", 3, 'reason="refused"') == "1"
    assert sample(text, "probe_failure_info", 5, 'reason="tls_untrusted"') == "1"
    assert sample(text, "probe_failure_info", 7, 'reason="nxdomain"') == "1"
    assert sample(text, "probe_failure_info", 10, 'reason="refused"') == "1"
    assert sample(text, "probe_failure_info", 11, 'reason="timeout"') == "1"
    assert sample(text, "probe_failure_info", 13, 'reason="keyword"') == "1"
    assert sample(text, "probe_failure_info", 1) is None
    reasons = set(re.findall(r'^probe_failure_info\{.*,reason="([^"]*)"\} 1$', text, re.MULTILINE))
    assert reasons <= set(REASON_CODES)
    # blackbox's families, where each kind has them
    assert sample(text, "probe_http_status_code", 10) == "0"  # no response
    assert sample(text, "probe_http_ssl", 4) == "1" and sample(text, "probe_http_ssl", 1) == "0"
    assert sample(text, "probe_http_version", 1) == "1.1"
    assert sample(text, "probe_http_redirects", 1) == "0"
    assert sample(text, "probe_http_uncompressed_body_length", 1) == "16"
    assert sample(text, "probe_failed_due_to_regex", 1) == "0"
    assert sample(text, "probe_failed_due_to_regex", 13) == "1"
    assert sample(text, "probe_failed_due_to_regex", 2) is None  # no keyword to check
    assert sample(text, "probe_http_duration_seconds", 4, 'phase="tls"') is not None
    # plain HTTP: the tls phase is there, at 0, as blackbox writes all five phases
    assert sample(text, "probe_http_duration_seconds", 1, 'phase="tls"') == "0.0"
    for server_id in (1, 4, 8, 9):
        assert sample(text, "probe_ip_protocol", server_id) == "4"
        assert sample(text, "probe_ip_addr_hash", server_id) == "3668918509.0"  # 127.0.0.1
    assert sample(text, "probe_tls_version_info", 9, 'version="TLS 1.') == "1"
    assert sample(text, "probe_ssl_last_chain_info", 9, 'subject="CN=localhost"') == "1"
    assert sample(text, "probe_dns_answer_rrs", 6) == "2"
    assert sample(text, "probe_dns_query_succeeded", 6) == "1"
    assert sample(text, "probe_dns_query_succeeded", 7) == "1"  # NXDOMAIN is an answer
    assert sample(text, "probe_dns_duration_seconds", 6, 'phase="request"') is not None
    assert sample(text, "probe_dns_lookup_time_seconds", 12) is not None
    assert sample(text, "probe_dns_answer_rrs", 12) is None  # getaddrinfo has no counts
    assert sample(text, "probe_icmp_duration_seconds", 8, 'phase="rtt"') is not None
    assert "servermon_targets 13.0" in text and "servermon_sd_up 1.0" in text
    assert 'servermon_probes_total{kind="http",result="success"}' in text
    assert "servermon_probe_lateness_seconds_bucket" in text
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr


def test_results_and_first_states_reach_redis(running, sd_server, redis_db, http_base,
                                              closed_port):
    load(running, sd_server, [group(1, "http", f"{http_base}/ok"),
                              group(2, "tcp", f"127.0.0.1:{closed_port}")], redis_db)

    def published():
        latest = redis_db.hgetall(LATEST_HASH)
        stream = [fields for _id, fields in redis_db.xrange(EVENTS_STREAM)]
        return (latest, stream) if len(latest) == 2 and len(stream) == 2 else None

    latest, stream = wait_for(published, timeout=3)
    down = json.loads(latest["2"])
    assert down["status"] == "down" and down["reason"] == "connection refused"
    assert down["checked_at"].endswith("+00:00") and down["status_code"] is None
    assert json.loads(latest["1"])["status_code"] == 200
    assert sorted((e["server_id"], e["status"], e["previous"]) for e in stream) == [
        ("1", "up", "unknown"), ("2", "down", "unknown")]


def test_a_removed_server_disappears_from_metrics_and_redis(running, sd_server, redis_db,
                                                            http_base):
    load(running, sd_server, [group(1, "http", f"{http_base}/ok"),
                              group(2, "http", f"{http_base}/ok")], redis_db)
    wait_for(lambda: redis_db.hlen(LATEST_HASH) == 2, timeout=3)
    load(running, sd_server, [group(2, "http", f"{http_base}/ok")], redis_db)
    text = running.scrape()
    assert 'server_id="1"' not in text and 'server_id="2"' in text
    wait_for(lambda: redis_db.hkeys(LATEST_HASH) == ["2"], timeout=3)


def test_it_keeps_the_last_list_when_the_portal_is_away(running, sd_server, redis_db,
                                                        http_base):
    load(running, sd_server, [group(1, "http", f"{http_base}/ok")], redis_db)
    sd_server.failing = True
    redis_db.publish(channel(TARGETS_CHANNEL, redis_db), "{}")
    wait_for(lambda: "servermon_sd_up 0.0" in running.scrape(), timeout=3)
    text = running.scrape()
    assert sample(text, "probe_success", 1) == "1" and "servermon_targets 1.0" in text
    state = running.states()[1]
    assert state.slot is not None or state.task is not None  # booked or running


def test_probing_goes_on_while_redis_is_away(start_exporter, sd_server, http_base,
                                             closed_port):
    sd_server.groups = [group(1, "http", f"{http_base}/ok")]
    exporter = start_exporter(sd_server.url, REDIS_URL=f"redis://127.0.0.1:{closed_port}/13",
                              SD_REFRESH_S="1")
    wait_for(lambda: exporter.exporter.discovery.up)
    sd_server.groups = [group(1, "http", f"{http_base}/ok"),
                        group(2, "http", f"{http_base}/ok")]  # picked up by the 1 s poll
    wait_for(lambda: sample(exporter.scrape(), "probe_success", 2) == "1", timeout=5)
    text = exporter.scrape()
    assert "servermon_redis_up 0.0" in text
    assert exporter.exporter.publisher.events  # the state changes wait for Redis


def test_it_publishes_nothing_into_another_deployments_database(
        start_exporter, sd_server, redis_db, http_base, monkeypatch):
    monkeypatch.setattr(publish, "DEPLOYMENT_CHECK_S", 0.2)
    redis_db.set(DEPLOYMENT_KEY, json.dumps({"name": "staging", "host": "w", "pid": 1}), ex=60)
    sd_server.deployment = "prod"
    exporter = start_exporter(sd_server.url)
    wait_for(lambda: exporter.exporter.discovery.up)
    load(exporter, sd_server, [group(1, "http", f"{http_base}/ok")], redis_db)

    def healthz():
        return requests.get(f"{exporter.base}/healthz", timeout=5)

    wait_for(lambda: healthz().status_code == 503, timeout=3, what="healthz failing")
    assert healthz().json() == {**healthz().json(), "status": "failing",
                                "deployment_conflict": True}
    assert "servermon_deployment_conflict 1.0" in exporter.scrape()
    assert sample(exporter.scrape(), "probe_success", 1) == "1"  # probing goes on
    time.sleep(0.5)  # flushes come and go every 0.2 s
    assert redis_db.xlen(EVENTS_STREAM) == 0 and not redis_db.exists(LATEST_HASH)

    redis_db.delete(DEPLOYMENT_KEY)  # staging is gone for good: its claim lapsed
    wait_for(lambda: redis_db.xlen(EVENTS_STREAM) == 1, timeout=3, what="the queued change")
    assert redis_db.xrange(EVENTS_STREAM)[0][1]["status"] == "up"
    assert redis_db.hexists(LATEST_HASH, "1")
    assert healthz().json()["status"] == "ok" and healthz().status_code == 200
    assert "servermon_deployment_conflict 0.0" in exporter.scrape()
