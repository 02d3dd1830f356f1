"""The ICMP probe against loopback, and its reason when the OS does not allow ICMP."""

import os
import socket
from pathlib import Path

import pytest

from exporter.metrics import probe_text
from exporter.probes import icmp, run_probe
from tests.exporter.conftest import run, target


def probe(t):
    return run(run_probe(t))


def test_echo_to_loopback_is_up_with_rtt_and_no_loss():
    result = probe(target("icmp", "127.0.0.1"))
    assert result.success, result.reason
    assert result.icmp_loss_ratio == 0.0
    assert 0 < result.icmp_rtt_s < 1 and result.latency_s == result.icmp_rtt_s
    # Loopback is no hop away: the reply keeps the TTL it was sent with (blackbox's
    # probe_icmp_reply_hop_limit), read from the reply itself.
    default_ttl = int(Path("/proc/sys/net/ipv4/ip_default_ttl").read_text())
    assert result.icmp_reply_hop_limit == default_ttl
    assert f"probe_icmp_reply_hop_limit {default_ttl}\n" in probe_text(result).decode()


def test_echo_to_ipv6_loopback_reads_the_hop_limit():
    if not socket.has_ipv6 or not Path("/proc/sys/net/ipv6/conf/lo/hop_limit").exists():
        pytest.skip("no IPv6 loopback here")
    result = probe(target("icmp", "::1"))
    assert result.success, result.reason
    assert result.icmp_reply_hop_limit == int(
        Path("/proc/sys/net/ipv6/conf/lo/hop_limit").read_text())


def _unprivileged_ping_allowed(gid: int) -> bool:
    low, high = map(int, Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    return low <= gid <= high


@pytest.mark.skipif(_unprivileged_ping_allowed(os.getgid()),
                    reason="this host allows unprivileged ICMP for our group")
def test_without_permission_the_reason_says_how_to_allow_it(monkeypatch):
    monkeypatch.setattr(icmp.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(icmp._Mode, "privileged", None)
    result = probe(target("icmp", "127.0.0.1"))
    assert not result.success
    assert result.reason.startswith("ICMP not permitted: ")
    assert "ping_group_range" in result.reason


def test_an_unknown_host_is_a_dns_failure():
    result = probe(target("icmp", "no-such-host.invalid"))
    assert not result.success and result.reason.startswith("DNS lookup failed")
