"""What each probe measures for blackbox's families, against real local servers."""

from exporter.probes import run_probe
from tests.exporter.conftest import run, target


def probe(t):
    result = run(run_probe(t))
    assert result.success, result.reason
    return result


def test_http_reports_version_lengths_redirects_and_the_address(http_base):
    result = probe(target("http", f"{http_base}/redirect"))
    assert (result.http_version, result.http_ssl, result.http_redirects) == (1.1, 0, 1)
    assert result.http_content_length == 16 and result.http_body_length == 16
    assert (result.ip_protocol, result.ip_addr_hash) == (4, 3668918509.0)
    # All five, as blackbox writes them; no name looked up and no TLS: those two are 0.
    assert set(result.phases) == {"resolve", "connect", "tls", "processing", "transfer"}
    assert result.phases["resolve"] == result.phases["tls"] == 0.0
    assert result.dns_lookup_s is None and result.failed_due_to_regex is None
    assert result.tls_version is None and result.tls_peer is None


def test_https_splits_tls_from_connect_and_describes_the_certificate(tls_site):
    result = probe(target("http", f"{tls_site.base}/ok", tls_verify=False))
    assert result.http_ssl == 1 and result.tls_version in ("TLS 1.2", "TLS 1.3")
    assert set(result.phases) == {"resolve", "connect", "tls", "processing", "transfer"}
    assert result.phases["tls"] > 0 and result.dns_lookup_s == result.phases["resolve"]
    assert result.tls_peer.expiry == tls_site.expiry == result.cert_expiry
    assert 'subject="CN=localhost"' in result.tls_peer.info_labels
    assert 'subjectalternative="localhost"' in result.tls_peer.info_labels
    assert result.chain_expiry is None  # nothing was verified


def test_a_verified_chain_has_its_expiry(trusted_tls_site, trusting):
    trusting(trusted_tls_site.ca_file)
    result = probe(target("http", f"{trusted_tls_site.base}/ok", tls_verify=True))
    assert result.chain_expiry == trusted_tls_site.expiry  # the leaf expires before the CA
    assert 'issuer="CN=servermon test CA"' in result.tls_peer.info_labels
    tcp = probe(target("tcp", f"localhost:{trusted_tls_site.port}", tcp_tls=True,
                       tls_verify=True))
    assert tcp.chain_expiry == trusted_tls_site.expiry and tcp.tls_version == result.tls_version
    assert tcp.ip_protocol == 4 and tcp.dns_lookup_s is not None


def test_a_keyword_check_reports_failed_due_to_regex_0_when_it_passes(http_base):
    assert probe(target("http", f"{http_base}/ok", http_keyword="ALL GOOD")) \
        .failed_due_to_regex == 0


def test_dns_through_a_resolver_counts_records_and_times_the_request(dns_server):
    result = probe(target("dns", "www.bank.test", dns_resolver=dns_server))
    assert (result.dns_answer_rrs, result.dns_authority_rrs, result.dns_additional_rrs) == \
        (2, 0, 0)
    assert result.dns_query_succeeded == 1 and set(result.dns_phases) == {"resolve", "request"}
    assert result.ip_protocol == 4 and result.ip_addr_hash == 3668918509.0


def test_dns_through_getaddrinfo_reports_only_what_it_knows():
    result = probe(target("dns", "localhost", dns_record_type="A"))
    assert result.dns_query_succeeded == 1 and result.dns_lookup_s > 0
    assert result.dns_answer_rrs is None and result.dns_phases is None


def test_icmp_has_the_round_trip_phase_and_the_address():
    result = probe(target("icmp", "127.0.0.1"))
    assert set(result.icmp_phases) == {"rtt"} and result.ip_protocol == 4
