"""The probe target policy where probes connect: a denied address is never connected to,
whatever the form it takes (a name, a redirect, a legacy number), and the reason says why.

The attack these reproduce: a servers.manage role pointed "test now" and saved servers at
the metadata service, at Prometheus's ``/-/quit`` and at Alertmanager, and read internal
pages one character at a time through the keyword check.
"""

import socket
import time
from collections.abc import Iterator

import pytest
from aiohttp import web

from exporter.probes import policy, run_probe
from tests.exporter.conftest import _start_site, run, target
from wire.probe_policy import ProbePolicy


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that must never see a connection: accept() would return if one came."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.settimeout(0.3)
        yield sock


def _never_connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except TimeoutError:
        return True
    return False


@pytest.fixture
def deny_listener(listener):
    """The listener's port denied as one of the stack's own, as Prometheus's is."""
    before = policy.current()
    policy.install(ProbePolicy.build(endpoints=[f"127.0.0.1:{listener.getsockname()[1]}"]))
    yield listener.getsockname()[1]
    policy.install(before)


@pytest.fixture
def deny_loopback():
    before = policy.current()
    policy.install(ProbePolicy.build(deny="169.254.0.0/16,fe80::/10,127.0.0.0/8"))
    yield
    policy.install(before)


def probe(t):
    return run(run_probe(t))


@pytest.mark.parametrize("address", [
    "http://127.0.0.1:{port}/-/quit", "http://localhost:{port}/", "http://vm:{port}/",
    "http://127.0.0.2:{port}/", "http://0.0.0.0:{port}/", "http://[::ffff:127.0.0.1]:{port}/",
])
def test_an_http_probe_never_connects_to_the_stacks_own_services(listener, deny_listener,
                                                                 address):
    result = probe(target("http", address.format(port=deny_listener), http_method="POST"))
    assert not result.success
    assert result.reason.startswith("not probed: ") and "servermon's own services" in \
        result.reason, result.reason
    assert _never_connected(listener)


def test_a_redirect_to_a_denied_address_is_not_followed(background_site):
    result = probe(target("http", f"{background_site}/to-metadata"))
    assert not result.success
    assert result.reason == ("not probed: 169.254.169.254 is in 169.254.0.0/16, which is not "
                             "probed (PROBE_DENY_NETWORKS)")


def test_a_legacy_numeric_address_is_checked_as_what_it_resolves_to(listener, deny_loopback):
    port = listener.getsockname()[1]
    denied = "not probed: 127.0.0.1 is in 127.0.0.0/8, which is not probed (PROBE_DENY_NETWORKS)"
    for address in (f"http://2130706433:{port}/", f"http://127.1:{port}/"):
        reason = probe(target("http", address)).reason
        assert reason == denied or reason.endswith("is not a canonical IPv4 address"), reason
    for address in (f"2130706433:{port}", f"127.1:{port}", f"0x7f000001:{port}"):
        assert probe(target("tcp", address)).reason == denied, address
    assert _never_connected(listener)


@pytest.mark.parametrize("address", ["127.0.0.1:{port}", "localhost:{port}", "vm:{port}"])
def test_a_tcp_probe_never_connects_to_a_denied_address(listener, deny_loopback, address):
    port = listener.getsockname()[1]
    result = probe(target("tcp", address.format(port=port)))
    assert result.reason == ("not probed: 127.0.0.1 is in 127.0.0.0/8, which is not probed "
                             "(PROBE_DENY_NETWORKS)")
    assert _never_connected(listener)


def test_a_denied_port_answers_the_same_open_or_closed(deny_listener):
    """Otherwise "test now" would still scan ports: refused before any connection."""
    closed = probe(target("tcp", f"127.0.0.1:{deny_listener}")).reason
    assert closed.startswith("not probed")


def test_icmp_to_the_metadata_service_is_not_sent():
    started = time.monotonic()
    result = probe(target("icmp", "169.254.169.254"))
    assert result.reason.startswith("not probed: 169.254.169.254 is in 169.254.0.0/16")
    assert time.monotonic() - started < 0.5  # no echo waited for


def test_a_dns_probe_does_not_ask_a_denied_resolver():
    result = probe(target("dns", "bank.test", dns_resolver="169.254.169.253:53"))
    assert result.reason.startswith("not probed: 169.254.169.253 is in 169.254.0.0/16")


def test_an_allowed_address_is_probed_as_before(listener, deny_listener, http_base):
    assert probe(target("http", f"{http_base}/ok")).success
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        assert probe(target("tcp", f"127.0.0.1:{other.getsockname()[1]}")).success


@pytest.fixture
def background_site(background):
    """A page that redirects to the metadata service."""

    async def to_metadata(_request):
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    app = web.Application()
    app.router.add_get("/to-metadata", to_metadata)
    port = background.call(_start_site(app))
    return f"http://127.0.0.1:{port}"
