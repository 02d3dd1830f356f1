"""The DNS probe: the system resolver, and a local DNS server for answers and NXDOMAIN."""

import socket

import pytest

from exporter.probes import run_probe
from tests.exporter.conftest import run, target


def probe(t):
    return run(run_probe(t))


def test_localhost_resolves_through_the_system_resolver():
    result = probe(target("dns", "localhost", dns_record_type="A", dns_expected="127.0.0.1"))
    assert result.success, result.reason
    assert result.dns_lookup_s is not None and result.dns_lookup_s == result.duration_s


@pytest.mark.parametrize(("name", "record_type", "expected"), [
    ("www.bank.test", "A", "10.0.0.8"),
    ("WWW.Bank.Test.", "A", "10.0.0.7"),
    ("bank.test", "MX", "MAIL.bank.test."),
    ("bank.test", "MX", "10 mail.bank.test"),
    ("bank.test", "TXT", "v=spf1 -all"),
    ("alias.bank.test", "CNAME", "www.bank.test"),
    ("10.0.0.7", "PTR", "www.bank.test"),
])
def test_any_matching_answer_passes_whatever_the_case_or_trailing_dot(
        dns_server, name, record_type, expected):
    result = probe(target("dns", name, dns_resolver=dns_server, dns_record_type=record_type,
                          dns_expected=expected))
    assert result.success, result.reason


def test_an_unexpected_answer_fails_and_shows_what_came_back(dns_server):
    result = probe(target("dns", "www.bank.test", dns_resolver=dns_server,
                          dns_expected="10.0.0.9"))
    assert not result.success
    assert result.reason == "DNS answer 10.0.0.7, 10.0.0.8 is not 10.0.0.9"


def test_without_an_expected_answer_any_answer_passes(dns_server):
    assert probe(target("dns", "www.bank.test", dns_resolver=dns_server)).success


def test_a_missing_name_is_nxdomain(dns_server):
    result = probe(target("dns", "missing.bank.test", dns_resolver=dns_server))
    assert not result.success and result.reason == "DNS NXDOMAIN"


def test_a_name_without_that_record_type(dns_server):
    result = probe(target("dns", "bank.test", dns_resolver=dns_server, dns_record_type="AAAA"))
    assert not result.success and result.reason == "DNS no AAAA record"


def test_a_failing_server_is_servfail(dns_server):
    result = probe(target("dns", "broken.bank.test", dns_resolver=dns_server))
    assert not result.success and result.reason == "DNS SERVFAIL"


def test_a_silent_resolver_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = probe(target("dns", "www.bank.test", dns_resolver=f"127.0.0.1:{port}",
                              timeout_s=0.5))
    assert not result.success and result.reason == "DNS timeout after 0.5s"
    assert result.duration_s < 1.0


def test_a_missing_name_through_the_system_resolver():
    result = probe(target("dns", "no-such-host.invalid", dns_record_type="A"))
    assert not result.success and result.reason in ("DNS NXDOMAIN", "DNS no A record")
