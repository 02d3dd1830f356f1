"""Real local targets for the probes: HTTP servers, a TLS server, a DNS server, ports."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exporter.targets import Target

EXPORTER_REDIS_URL = "redis://127.0.0.1:6379/13"


def target(kind: str, address: str, **fields: object) -> Target:
    base = Target(server_id=int(fields.pop("server_id", 1)), name="t", kind=kind, address=address,
                  labels=(("server_id", "1"),), timeout_s=float(fields.pop("timeout_s", 2)),
                  confirm_down=False, label_text='server_id="1"')
    return replace(base, **fields)


def run(coro):
    """Run a probe on a fresh loop, closing the HTTP session it opened there."""
    from exporter.probes.http import CLIENT

    async def runner():
        try:
            return await coro
        finally:
            await CLIENT.close()

    return asyncio.run(runner())


class Background:
    """An asyncio loop in a thread, for servers the probes under test connect to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def background() -> Iterator[Background]:
    bg = Background()
    yield bg
    bg.stop()


def _web_app() -> web.Application:
    async def ok(_r):
        return web.Response(text="status: ALL GOOD")

    async def error(_r):
        return web.Response(status=503, text="maintenance")

    async def stall(_r):
        await asyncio.sleep(30)
        return web.Response(text="late")

    async def redirect(_r):
        raise web.HTTPFound("/ok")

    async def loop_redirect(_r):
        raise web.HTTPFound("/loop")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/error", error)
    app.router.add_get("/stall", stall)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop_redirect)
    return app


async def _start_site(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> int:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return site._server.sockets[0].getsockname()[1]


@pytest.fixture(scope="session")
def http_base(background: Background) -> str:
    port = background.call(_start_site(_web_app()))
    return f"http://127.0.0.1:{port}"


def self_signed(tmp: Path, days: int) -> tuple[Path, Path, datetime.datetime]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    not_after = now + datetime.timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, not_after


@pytest.fixture(scope="session")
def tls_site(background: Background, tmp_path_factory: pytest.TempPathFactory):
    """HTTPS with a self-signed certificate that expires in 5 days: (base url, not_after)."""
    cert, key, not_after = self_signed(tmp_path_factory.mktemp("tls"), days=5)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = background.call(_start_site(_web_app(), context))
    return f"https://localhost:{port}", not_after, port


class _DnsProtocol(asyncio.DatagramProtocol):
    """A tiny authoritative server: bank.test A 10.0.0.7, anything else NXDOMAIN."""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        if question.name.to_text() == "www.bank.test." and question.rdtype == 1:
            response.answer.append(dns.rrset.from_text("www.bank.test.", 60, "IN", "A",
                                                       "10.0.0.7"))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture(scope="session")
def dns_server(background: Background) -> str:
    async def start() -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(_DnsProtocol,
                                                           local_addr=("127.0.0.1", 0))
        return transport.get_extra_info("sockname")[1]

    return f"127.0.0.1:{background.call(start())}"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
