"""Real local things to probe: HTTP(S) sites (fast and slow), TLS listeners with
certificates that expire when told, and a tiny authoritative DNS server."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import threading
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class Loop:
    """An asyncio loop in a daemon thread hosting the targets."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def self_signed(directory: Path, days: float) -> ssl.SSLContext:
    """A server context whose certificate for localhost expires in ``days``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"cert-{days}.pem", directory / f"key-{days}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def site(slow_s: float = 2.3) -> web.Application:
    async def ok(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(slow_s)
        return web.Response(text="late but ok")

    app = web.Application()
    app.router.add_get("/", ok)
    app.router.add_get("/slow", slow)
    return app


async def start_site(app: web.Application, context: ssl.SSLContext | None = None) -> int:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await server.start()
    return server._server.sockets[0].getsockname()[1]


ZONE = {
    ("www.bank.test.", "A"): ["10.0.0.7", "10.0.0.8"],
    ("bank.test.", "MX"): ["10 mail.bank.test."],
    ("bank.test.", "TXT"): ['"v=spf1 -all"'],
    ("alias.bank.test.", "CNAME"): ["www.bank.test."],
    ("7.0.0.10.in-addr.arpa.", "PTR"): ["www.bank.test."],
}


class DnsProtocol(asyncio.DatagramProtocol):
    """A tiny authoritative server for ZONE; SERVFAIL for broken.bank.test, else NXDOMAIN."""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name, rdtype = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        answers = ZONE.get((name, rdtype))
        if answers:
            response.answer.append(dns.rrset.from_text_list(name, 60, "IN", rdtype, answers))
        elif name == "broken.bank.test.":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif not any(known == name for known, _type in ZONE):
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


async def start_dns() -> int:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        DnsProtocol, local_addr=("127.0.0.1", 0))
    return transport.get_extra_info("sockname")[1]
