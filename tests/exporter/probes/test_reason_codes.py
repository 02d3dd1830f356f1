"""Every way a probe fails has a code from REASON_CODES, and the failure label carries
nothing else: each failure is driven for real where this host allows it (a stand-in only
for what loopback cannot produce: an unreachable host, ICMP silence or denial, an
unexpected error), and together they reach every code."""

from __future__ import annotations

import asyncio
import errno
import re
import time

import pytest
from icmplib.exceptions import SocketPermissionError

import exporter.probes as probes
from exporter.heartbeats import PingBook
from exporter.metrics import probe_text
from exporter.probes import icmp, policy, run_probe
from exporter.probes.icmp_echo import Echoes
from exporter.probes.reasons import connection_failure
from exporter.probes.result import ProbeResult, fail
from exporter.scheduler import Scheduler, TargetState
from tests.exporter.conftest import (
    Background,
    run,
    target,
)
from wire.heartbeat import PingState
from wire.probe_policy import ProbePolicy
from wire.reasons import REASON_CODES

SEEN: set[str] = set()


async def _raw_server(answer: bytes | None) -> int:
    """A TCP server that writes ``answer`` and closes (None: closes at once)."""

    async def handle(_reader, writer):
        if answer:
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server.sockets[0].getsockname()[1]


@pytest.fixture(scope="module")
def garbage_port(background: Background) -> int:
    return background.call(_raw_server(b"HELLO THERE\r\n\r\n"))


@pytest.fixture(scope="module")
def hangup_port(background: Background) -> int:
    return background.call(_raw_server(None))


def probe(t) -> ProbeResult:
    result = run(run_probe(t))
    assert not result.success and result.reason, result
    assert result.reason_code in REASON_CODES
    label = re.findall(r'probe_failure_info\{reason="([^"]*)"\}', probe_text(result).decode())
    assert label == [result.reason_code]  # the code, never the words
    SEEN.add(result.reason_code)
    return result


def expect(t, code: str) -> ProbeResult:
    result = probe(t)
    assert result.reason_code == code, result
    return result


def test_connection_failures(closed_port, http_base, hangup_port):
    expect(target("tcp", f"127.0.0.1:{closed_port}"), "refused")
    expect(target("http", f"http://127.0.0.1:{closed_port}/"), "refused")
    expect(target("tcp", "no-such-host.invalid:80"), "nxdomain")
    expect(target("http", f"http://127.0.0.1:{hangup_port}/"), "reset")
    expect(target("http", f"{http_base}/stall", timeout_s=0.3), "timeout")


def test_a_tcp_dialogue_that_fails(garbage_port):
    expect(target("tcp", f"127.0.0.1:{garbage_port}",
                  tcp_query_response='[{"expect": "^220 "}]'), "query_response")
    expect(target("tcp", f"127.0.0.1:{garbage_port}", ip_protocol="ip6"), "dns_no_record")


def test_http_answers_that_fail_a_check(http_base, garbage_port):
    expect(target("http", f"{http_base}/error"), "status")
    result = expect(target("http", f"{http_base}/ok", http_keyword="MISSING"), "keyword")
    assert result.failed_due_to_regex == 1 and result.reason == "keyword 'MISSING' missing"
    expect(target("http", f"{http_base}/ok", http_keyword="GO+D!", http_keyword_regex=True),
           "regex")
    slow = expect(target("http", f"{http_base}/slow", http_max_latency_ms=1), "slow")
    assert slow.reason.startswith("slow: ") and slow.reason.endswith(" ms, over 1 ms")
    expect(target("http", f"{http_base}/loop"), "too_many_redirects")
    expect(target("http", f"http://127.0.0.1:{garbage_port}/"), "invalid_response")


def test_tls_failures(tls_site, expired_tls_site, trusted_tls_site, http_base, trusting):
    expect(target("http", f"{tls_site.base}/ok", tls_verify=True), "tls_untrusted")
    expect(target("tcp", f"localhost:{tls_site.port}", tcp_tls=True, tls_verify=True),
           "tls_untrusted")
    port = int(http_base.rsplit(":", 1)[1])
    expect(target("tcp", f"127.0.0.1:{port}", tcp_tls=True, tls_verify=False), "tls_error")
    trusting(expired_tls_site.ca_file)
    expect(target("http", f"{expired_tls_site.base}/ok", tls_verify=True), "tls_expired")
    port = trusted_tls_site.port
    trusting(trusted_tls_site.ca_file)
    assert run(run_probe(target("http", f"https://localhost:{port}/ok", tls_verify=True))).success
    expect(target("http", f"https://127.0.0.1:{port}/ok", tls_verify=True), "tls_hostname")


def test_dns_failures(dns_server, closed_port):
    expect(target("dns", "gone.bank.test", dns_resolver=dns_server), "nxdomain")
    expect(target("dns", "broken.bank.test", dns_resolver=dns_server), "dns_rcode")
    expect(target("dns", "bank.test", dns_resolver=dns_server, dns_record_type="A"),
           "dns_no_record")
    answer = expect(target("dns", "www.bank.test", dns_resolver=dns_server,
                           dns_expected="10.9.9.9"), "dns_answer")
    assert answer.dns_query_succeeded == 1 and answer.dns_answer_rrs == 2
    silent = probe(target("dns", "www.bank.test", dns_resolver=f"127.0.0.1:{closed_port}",
                          timeout_s=0.5))
    assert silent.reason_code in ("dns_error", "timeout") and silent.dns_query_succeeded == 0
    expect(target("dns", "www.bank.test", dns_resolver="name.invalid"), "dns_error")


def test_denied_by_the_probe_policy(http_base):
    before = policy.current()
    policy.install(ProbePolicy.build(deny="127.0.0.0/8"))
    try:
        for kind, address in (("http", f"{http_base}/ok"), ("tcp", "127.0.0.1:80"),
                              ("icmp", "127.0.0.1")):
            expect(target(kind, address), "denied")
    finally:
        policy.install(before)


def test_icmp_silence_and_refusal(monkeypatch):
    async def silent(*_args, **_kwargs):
        return Echoes(sent=3)

    async def forbidden(*_args, **_kwargs):
        raise SocketPermissionError(False)

    monkeypatch.setattr(icmp._Mode, "privileged", None)
    monkeypatch.setattr(icmp, "echo", silent)
    expect(target("icmp", "127.0.0.1"), "no_reply")
    monkeypatch.setattr(icmp, "echo", forbidden)
    monkeypatch.setattr(icmp.os, "geteuid", lambda: 1000)
    expect(target("icmp", "127.0.0.1"), "icmp_not_permitted")


def test_an_unexpected_error_and_an_unreachable_host(monkeypatch):
    async def broken(_target):
        raise RuntimeError("bug")

    monkeypatch.setitem(probes.PROBES, "tcp", broken)
    expect(target("tcp", "127.0.0.1:1"), "error")
    assert connection_failure(OSError(errno.EHOSTUNREACH, "x")) == ("unreachable",
                                                                     "host unreachable")
    SEEN.add("unreachable")


def test_a_code_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError):
        ProbeResult(success=False, duration_s=1.0, reason="slow: 5 ms", reason_code="slow: 5 ms")
    with pytest.raises(ValueError):
        fail(ProbeResult(success=True, duration_s=1.0), "weird", "weird")


@pytest.mark.parametrize(("ping", "code"), [
    (None, "late"),
    (PingState(server_id=1, last_ping_at=1e9, last_kind="fail", last_fail_at=1e9), "run_failed"),
])
def test_heartbeat_codes(ping, code):
    """A heartbeat's judgement (exporter/scheduler.py), from a book that has heard."""
    book = PingBook("redis://127.0.0.1:1/0", lambda _server_id: None)
    book.heard_since = time.monotonic() - 3600
    if ping is not None:
        book.take(ping)
    made = Scheduler(1, lambda state, previous: None, lambda server_id: None, book)
    state = TargetState(target("heartbeat", "heartbeat:1", heartbeat_period_s=60,
                               heartbeat_since=1e9 - 3600))
    made.judge(state)
    assert (state.status, state.result.reason_code) == ("down", code)
    assert f'reason="{code}"' in probe_text(state.result).decode()
    SEEN.add(code)


def test_every_code_is_reached_and_no_other():
    """Last in this file: the tests above drove these codes."""
    assert set(REASON_CODES) == SEEN, set(REASON_CODES) ^ SEEN
