"""The TCP probe: connect, optionally handshake TLS and read the certificate's expiry."""

import socket

from exporter.probes import run_probe
from tests.exporter.conftest import run, target


def probe(t):
    return run(run_probe(t))


def test_a_listening_port_is_up(http_base):
    port = int(http_base.rsplit(":", 1)[1])
    result = probe(target("tcp", f"127.0.0.1:{port}"))
    assert result.success and result.reason is None and result.duration_s > 0


def test_a_closed_port_is_connection_refused(closed_port):
    result = probe(target("tcp", f"127.0.0.1:{closed_port}"))
    assert not result.success and result.reason == "connection refused"


def test_an_ipv6_address_in_brackets(closed_port):
    with socket.socket(socket.AF_INET6) as listener:
        listener.bind(("::1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert probe(target("tcp", f"[::1]:{port}")).success


def test_with_tls_it_reads_the_certificate_expiry(tls_site):
    result = probe(target("tcp", f"localhost:{tls_site.port}", tcp_tls=True, tls_verify=False))
    assert result.success and result.cert_expiry == tls_site.expiry


def test_with_tls_verification_a_self_signed_certificate_fails(tls_site):
    result = probe(target("tcp", f"localhost:{tls_site.port}", tcp_tls=True, tls_verify=True))
    assert not result.success and result.reason.startswith("certificate verify failed: ")


def test_tls_against_a_plain_port_is_a_tls_error(background):
    import asyncio

    async def start() -> int:
        async def answer(reader, writer):
            writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        return server.sockets[0].getsockname()[1]

    port = background.call(start())
    result = probe(target("tcp", f"127.0.0.1:{port}", tcp_tls=True, tls_verify=False))
    assert not result.success and result.reason.startswith(("TLS error", "connection"))


def test_an_unknown_host_is_a_dns_failure():
    result = probe(target("tcp", "no-such-host.invalid:443"))
    assert not result.success and result.reason.startswith("DNS lookup failed")
