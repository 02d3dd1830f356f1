"""HTTP module options as request arguments, against real local servers: one that reports
the headers, auth and body it received, and a TLS one that demands a client certificate."""

import asyncio
import datetime
import json
import socket
import ssl

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from exporter.probes.http_options import (
    family,
    keep_family,
    keep_resolved,
    request_kwargs,
    ssl_context,
)
from exporter.targets import Target


def _target(address: str, **settings: str) -> Target:
    return Target.from_settings(1, "s1", "http", address, {"timeout_s": "5", **settings}, "")


def _pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _cert(subject: str, key, issuer_key=None, issuer: x509.Name | None = None, *,
          ca: bool = False, usage=ExtendedKeyUsageOID.SERVER_AUTH) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                                        critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate and a client certificate it signed, as files and PEM."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("probe test CA", ca_key, ca=True)
    server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    server = _cert("localhost", server_key, ca_key, ca.subject)
    client = _cert("servermon-probe", client_key, ca_key, ca.subject,
                   usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    pem = lambda cert: cert.public_bytes(serialization.Encoding.PEM).decode()  # noqa: E731
    for name, text in (("ca.pem", pem(ca)), ("server.pem", pem(server)),
                       ("server.key", _pem_key(server_key))):
        (folder / name).write_text(text)
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    return {"folder": folder, "client_cert": pem(client), "client_key": _pem_key(client_key),
            "stranger_cert": pem(_cert("stranger", stranger_key,
                                       usage=ExtendedKeyUsageOID.CLIENT_AUTH)),
            "stranger_key": _pem_key(stranger_key)}


async def _echo(request: web.Request) -> web.Response:
    peer = request.transport.get_extra_info("peercert") if request.transport else None
    subject = dict(item[0] for item in peer["subject"]) if peer else None
    return web.json_response({
        "method": request.method, "headers": dict(request.headers),
        "body": (await request.read()).decode(), "client": subject and subject["commonName"]})


async def _serve(context: ssl.SSLContext | None = None):
    app = web.Application()
    app.router.add_route("*", "/echo", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock, ssl_context=context)
    await site.start()
    return runner, sock.getsockname()[1]


async def _ask(target: Target) -> dict:
    async with aiohttp.ClientSession(headers={"User-Agent": "servermon-exporter/1"}) as session, \
            session.request(target.http_method, target.address,
                            **request_kwargs(target)) as response:
        assert response.status == 200
        return await response.json()


def test_headers_basic_auth_and_body_reach_the_server():
    async def run():
        runner, port = await _serve()
        try:
            return await _ask(_target(
                f"http://127.0.0.1:{port}/echo", http_method="POST",
                http_headers=json.dumps({"X-Api-Key": "k-123", "Content-Type": "application/json"}),
                http_basic_auth_username="probe", http_basic_auth_password="pä:ss",
                http_body='{"ping": "☃"}'))
        finally:
            await runner.cleanup()

    seen = asyncio.run(run())
    assert seen["method"] == "POST" and seen["body"] == '{"ping": "☃"}'
    assert seen["headers"]["X-Api-Key"] == "k-123"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["User-Agent"] == "servermon-exporter/1"  # merged over, kept
    assert seen["headers"]["Authorization"] == "Basic cHJvYmU6cMOkOnNz"  # probe:pä:ss, UTF-8


def test_a_bearer_token_and_a_user_agent_of_the_targets_own():
    async def run():
        runner, port = await _serve()
        try:
            return await _ask(_target(f"http://127.0.0.1:{port}/echo", http_bearer_token="t0k",
                                      http_headers='{"User-Agent": "bank-probe/2"}'))
        finally:
            await runner.cleanup()

    seen = asyncio.run(run())
    assert seen["headers"]["Authorization"] == "Bearer t0k"
    assert seen["headers"]["User-Agent"] == "bank-probe/2"
    assert seen["body"] == ""


def test_a_server_demanding_a_client_certificate_accepts_the_targets(pki):
    folder = pki["folder"]
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(folder / "server.pem", folder / "server.key")
    server_context.load_verify_locations(folder / "ca.pem")
    server_context.verify_mode = ssl.CERT_REQUIRED

    async def run(**settings):
        runner, port = await _serve(server_context)
        try:
            return await _ask(_target(f"https://localhost:{port}/echo", tls_verify="false",
                                      **settings))
        finally:
            await runner.cleanup()

    seen = asyncio.run(run(tls_client_cert=pki["client_cert"], tls_client_key=pki["client_key"]))
    assert seen["client"] == "servermon-probe"
    with pytest.raises(aiohttp.ClientError):  # no certificate: the handshake is refused
        asyncio.run(run())
    with pytest.raises(aiohttp.ClientError):  # one the server's CA did not sign
        asyncio.run(run(tls_client_cert=pki["stranger_cert"],
                        tls_client_key=pki["stranger_key"]))


def test_contexts_are_built_once_per_verify_cert_and_key(pki):
    cert, key = pki["client_cert"], pki["client_key"]
    assert ssl_context(True, cert, key) is ssl_context(True, cert, key)
    assert ssl_context(False, cert, key) is not ssl_context(True, cert, key)
    assert ssl_context(False, cert, key).verify_mode == ssl.CERT_NONE
    assert ssl_context(True) is ssl_context(True, None, None)
    with pytest.raises(ValueError, match="do not load") as error:
        ssl_context(True, cert, pki["stranger_key"])
    assert "PRIVATE KEY" not in str(error.value)


def test_the_address_family_of_ip_protocol():
    assert (family(""), family("ip4"), family("ip6")) == \
        (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6)
    addresses = ["10.0.0.1", "2001:db8::1", "fe80::1%eth0", "192.0.2.7"]
    assert keep_family(addresses, "") == addresses
    assert keep_family(addresses, "ip4") == ["10.0.0.1", "192.0.2.7"]
    assert keep_family(addresses, "ip6") == ["2001:db8::1", "fe80::1%eth0"]
    results = [{"host": "10.0.0.1", "port": 443}, {"host": "2001:db8::1", "port": 443}]
    assert keep_resolved(results, "ip6", "api.test") == [results[1]]
    with pytest.raises(OSError, match=r"api.test has no IPv6 address \(ip_protocol ip6\)"):
        keep_resolved(results[:1], "ip6", "api.test")
