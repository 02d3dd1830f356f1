"""Service-discovery groups into targets: labels for the metrics, typed probe settings."""

import pytest

from exporter.targets import Target, split_host_port
from tests.exporter.conftest import group


def test_public_labels_come_first_then_free_labels_sorted():
    target = Target.from_group(group(7, "http", "https://pay.bank.test/health",
                                     labels={"team": "payments", "environment": "production",
                                             "app": "pay"}))
    assert target.labels_text == ('server_id="7",server="server-7",instance="server-7",'
                                  'kind="http",environment="production",group="",app="pay",'
                                  'team="payments"')


def test_instance_is_the_server_name_whatever_the_group_says():
    """One instance per server, as blackbox's classic job gives; a stray ``instance`` in
    the group (the portal refuses it as a label) cannot merge two servers' series."""
    target = Target.from_group(group(4, "tcp", "db1.bank.test:5432",
                                     labels={"instance": "exporter:9117"}))
    assert 'instance="server-4"' in target.labels_text
    assert "exporter:9117" not in target.labels_text


def test_meta_labels_are_settings_not_metric_labels():
    target = Target.from_group(group(
        3, "http", "http://a.test/", interval_s="60", timeout_s="5", down_after="3",
        http_method="HEAD", http_accepted_statuses="200-299,301", http_keyword="OK",
        http_keyword_mode="absent", http_keyword_regex="false", http_max_latency_ms="",
        http_follow_redirects="false", tls_verify="false"))
    assert "__meta" not in target.labels_text
    assert (target.interval_s, target.timeout_s, target.down_after) == (60, 5, 3)
    assert target.http_method == "HEAD"
    assert target.http_statuses == ((200, 299), (301, 301))
    assert target.http_keyword == "OK" and target.http_keyword_absent
    assert target.http_max_latency_ms is None
    assert not target.http_follow_redirects and not target.tls_verify


def test_label_values_are_escaped_for_the_text_format():
    target = Target.from_group(group(1, "icmp", "db1", labels={"note": 'say "hi"\\\n'}))
    assert 'note="say \\"hi\\"\\\\\\n"' in target.labels_text


def test_a_free_label_clashing_with_ours_is_kept_as_exported():
    target = Target.from_group(group(1, "icmp", "db1", labels={"phase": "2", "reason": "x"}))
    assert 'exported_phase="2"' in target.labels_text
    assert 'exported_reason="x"' in target.labels_text


def test_dns_settings():
    target = Target.from_group(group(2, "dns", "bank.test", dns_record_type="mx",
                                     dns_expected="mail.bank.test", dns_resolver="10.0.0.53"))
    assert (target.dns_record_type, target.dns_expected, target.dns_resolver) == (
        "MX", "mail.bank.test", "10.0.0.53")


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "smtp"}, "kind must be one of http, tcp, icmp, dns, heartbeat, got 'smtp'"),
    ({"server_id": "seven"}, "server_id must be a whole number, got 'seven'"),
    ({"__meta_servermon_interval_s": "often"}, "interval_s must be a number, got 'often'"),
    ({"__meta_servermon_timeout_s": "0"}, "timeout_s must be between 0.1 and 300, got 0"),
    ({"__meta_servermon_down_after": "maybe"}, "down_after must be a number, got 'maybe'"),
    ({"__meta_servermon_down_after": "9"}, "down_after must be between 1 and 5, got 9"),
    ({"__meta_servermon_http_accepted_statuses": "2xx"},
     "'2xx' is not a status code or range like 200-299"),
    ({"__meta_servermon_http_keyword": "(", "__meta_servermon_http_keyword_regex": "true"},
     "http_keyword is not a valid regular expression"),
    ({"__meta_servermon_dns_record_type": "ANY"},
     "dns_record_type must be one of A, AAAA, CNAME, MX, NS, TXT, SOA, PTR, SRV, CAA, got 'ANY'"),
])
def test_a_bad_group_is_refused_naming_the_field(change, message):
    bad = group(1, "http", "http://a.test/")
    bad["labels"].update(change)
    with pytest.raises(ValueError) as error:
        Target.from_group(bad)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(("kind", "address"), [
    ("http", "ftp://a.test/"), ("tcp", "db1"), ("tcp", "db1:99999"), ("tcp", "::1:80"),
    ("icmp", "two words"),
])
def test_a_target_unusable_for_its_kind_is_refused(kind, address):
    with pytest.raises(ValueError) as error:
        Target.from_group(group(1, kind, address))
    assert str(error.value).startswith("target must")


def test_host_and_port():
    assert split_host_port("db1.bank.test:5432") == ("db1.bank.test", 5432)
    assert split_host_port("[2001:db8::1]:443") == ("2001:db8::1", 443)
