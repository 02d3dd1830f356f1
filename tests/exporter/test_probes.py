"""Each probe kind against real local targets: success, and a clear reason when it fails."""

import socket

import pytest

from exporter.probes import PROBES
from tests.exporter.conftest import run, target


def probe(t):
    return run(PROBES[t.kind](t))


def test_http_success_records_status_and_phases(http_base):
    result = probe(target("http", f"{http_base}/ok"))
    assert result.success and result.http_status_code == 200 and result.reason is None
    assert {"connect", "processing", "transfer"} <= set(result.phases)


@pytest.mark.parametrize(("path", "fields", "reason"), [
    ("/error", {}, "status 503"),
    ("/ok", {"http_keyword": "BROKEN"}, "keyword 'BROKEN' missing"),
    ("/ok", {"http_keyword": "ALL GOOD", "http_keyword_absent": True},
     "keyword 'ALL GOOD' present"),
    ("/ok", {"http_keyword": r"status: \w+ BAD", "http_keyword_regex": True},
     "keyword 'status: \\\\w+ BAD' missing"),
    ("/loop", {}, "too many redirects"),
    ("/redirect", {"http_follow_redirects": False, "http_statuses": ((200, 299),)},
     "status 302"),
])
def test_http_failures_say_why(http_base, path, fields, reason):
    result = probe(target("http", f"{http_base}{path}", **fields))
    assert not result.success
    assert result.reason == reason


def test_http_accepts_configured_status_ranges(http_base):
    result = probe(target("http", f"{http_base}/error", http_statuses=((500, 599),)))
    assert result.success


def test_http_stalled_server_times_out(http_base):
    result = probe(target("http", f"{http_base}/stall", timeout_s=0.5))
    assert not result.success and result.reason == "timeout after 0.5s"
    assert result.duration_s < 1.5


def test_http_latency_limit(http_base):
    result = probe(target("http", f"{http_base}/ok", http_max_latency_ms=1))
    # A loopback answer may beat 1 ms; when it does not, the reason must say so.
    assert result.success or result.reason.startswith("slow: ")


def test_http_refused_connection(closed_port):
    result = probe(target("http", f"http://127.0.0.1:{closed_port}/"))
    assert not result.success and result.reason == "connection refused"


def test_https_reports_certificate_expiry_without_verification(tls_site):
    base, not_after, _port = tls_site
    result = probe(target("http", f"{base}/ok", tls_verify=False))
    assert result.success
    assert result.cert_expiry == not_after.timestamp()


def test_https_with_verification_refuses_a_self_signed_certificate(tls_site):
    base, _, _port = tls_site
    result = probe(target("http", f"{base}/ok", tls_verify=True))
    assert not result.success
    assert result.reason.startswith("certificate verify failed")


def test_tcp_open_and_closed_ports(http_base, closed_port):
    port = int(http_base.rsplit(":", 1)[1])
    assert probe(target("tcp", f"127.0.0.1:{port}")).success
    closed = probe(target("tcp", f"127.0.0.1:{closed_port}"))
    assert not closed.success and closed.reason == "connection refused"


def test_tcp_with_tls_reads_the_certificate(tls_site):
    _, not_after, port = tls_site
    result = probe(target("tcp", f"localhost:{port}", tcp_tls=True, tls_verify=False))
    assert result.success and result.cert_expiry == not_after.timestamp()


def test_tcp_unknown_host_is_a_dns_failure():
    result = probe(target("tcp", "no-such-host.invalid:443"))
    assert not result.success and result.reason.startswith("DNS lookup failed")


def test_dns_answer_matches_expected(dns_server):
    ok = probe(target("dns", "www.bank.test", dns_resolver=dns_server, dns_expected="10.0.0.7"))
    assert ok.success and ok.dns_lookup_s is not None
    wrong = probe(target("dns", "www.bank.test", dns_resolver=dns_server,
                         dns_expected="10.0.0.8"))
    assert not wrong.success and "is not '10.0.0.8'" in wrong.reason


def test_dns_nxdomain(dns_server):
    result = probe(target("dns", "missing.bank.test", dns_resolver=dns_server))
    assert not result.success and result.reason == "DNS NXDOMAIN"


def test_dns_unanswered_resolver_times_out(closed_port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = probe(target("dns", "www.bank.test", dns_resolver=f"127.0.0.1:{port}",
                              timeout_s=0.5))
    assert not result.success and result.reason.startswith("DNS timeout")


def test_icmp_echo_to_loopback():
    result = probe(target("icmp", "127.0.0.1"))
    assert result.success, result.reason
    assert result.icmp_loss_ratio == 0.0 and result.icmp_rtt_s is not None
