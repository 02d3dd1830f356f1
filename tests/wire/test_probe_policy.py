"""The probe target policy's rules, as both the portal and the exporter apply them."""

import pytest

from wire.probe_policy import ProbePolicy, destination, endpoint


def test_link_local_is_denied_by_default_in_every_spelling():
    policy = ProbePolicy.build()
    for address in ("169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "fe80::1%eth0"):
        assert policy.refusal(address, 80), address
    assert policy.refusal("10.20.0.5", 80) is None
    assert policy.refusal("2001:db8::5", 443) is None


def test_an_allow_list_probes_only_its_networks():
    policy = ProbePolicy.build(allow="10.0.0.0/8, 192.168.10.0/24")
    assert policy.refusal("10.1.2.3", 443) is None
    assert policy.refusal("192.168.10.7", 22) is None
    assert "PROBE_ALLOW_NETWORKS" in policy.refusal("172.16.0.1", 443)
    assert "PROBE_DENY_NETWORKS" in policy.refusal("169.254.1.1", 443)  # denial wins


def test_a_loopback_service_is_denied_on_every_loopback_and_unspecified_address():
    policy = ProbePolicy.build(endpoints=["http://127.0.0.1:9090", "redis://localhost:6379/0"])
    for address in ("127.0.0.1", "127.0.0.2", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1"):  # noqa: S104
        assert "servermon's own services" in policy.refusal(address, 9090), address
        assert policy.refusal(address, 6379), address
    assert policy.refusal("127.0.0.1", 9091) is None
    assert policy.refusal("10.0.0.1", 9090) is None  # another host's Prometheus is a server


def test_a_remote_service_is_denied_on_its_own_address_only():
    policy = ProbePolicy.build(endpoints=["10.9.0.4:9093"])
    assert policy.refusal("10.9.0.4", 9093)
    assert policy.refusal("10.9.0.5", 9093) is None
    assert policy.refusal("127.0.0.1", 9093) is None


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"deny": "10.0.0.0/33"}, "PROBE_DENY_NETWORKS"),
    ({"allow": "not-a-network"}, "PROBE_ALLOW_NETWORKS"),
])
def test_bad_settings_name_themselves(kwargs, named):
    with pytest.raises(ValueError, match=named):
        ProbePolicy.build(**kwargs)


def test_endpoints_and_destinations_parse_each_form():
    assert endpoint("prometheus:9090") == ("prometheus", 9090)
    assert endpoint("[::1]:9093") == ("::1", 9093)
    assert endpoint("https://grafana.bank.local") == ("grafana.bank.local", 443)
    with pytest.raises(ValueError):
        endpoint("no-port")
    assert destination("http", "https://cbs.bank.local/health") == ("cbs.bank.local", 443)
    assert destination("http", "http://[fe80::1]:8080/") == ("fe80::1", 8080)
    assert destination("tcp", "db1:5432") == ("db1", 5432)
    assert destination("icmp", "10.0.0.1") == ("10.0.0.1", None)
    assert destination("dns", "bank.test", "10.0.0.53") == ("10.0.0.53", 53)
    assert destination("dns", "bank.test") is None
