"""Real local things for the exporter to talk to: HTTP, TLS and DNS servers, closed and
open ports, a service-discovery endpoint, Redis database 13 (or TEST_EXPORTER_REDIS_URL),
and the running exporter.

Servers run on one asyncio loop in a background thread for the whole session; each test
probes from its own loop, as the exporter would from its own process.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import requests
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exporter.config import ExporterConfig
from exporter.probes.http import CLIENT
from exporter.service import Exporter
from exporter.targets import Target, label_text
from tests.support.binaries import free_port
from tests.support.targets import DnsProtocol
from tests.support.waiting import wait_for
from wire import DEPLOYMENT_HEADER, TARGETS_CHANNEL, channel

EXPORTER_REDIS_URL = os.environ.get("TEST_EXPORTER_REDIS_URL", "redis://127.0.0.1:6379/13")
SD_TOKEN = "sd-token-for-exporter-tests-0123"


def target(kind: str, address: str, server_id: int = 1, **fields: object) -> Target:
    """A Target as SD would describe it, with probe settings given as typed fields."""
    settings = {"interval_s": "10", "timeout_s": "2"}
    settings.update({name: str(value).lower() if isinstance(value, bool) else str(value)
                     for name, value in fields.items()})
    labels = label_text((("server_id", str(server_id)), ("server", f"s{server_id}"),
                         ("kind", kind)))
    return Target.from_settings(server_id, f"s{server_id}", kind, address, settings, labels)


def group(server_id: int, kind: str, address: str, labels: dict | None = None,
          **settings: str) -> dict:
    """One Prometheus HTTP SD group, shaped as the portal's /api/sd/targets serves it."""
    meta = {"interval_s": "10", "timeout_s": "2", "down_after": "1", **settings}
    return {"targets": [address], "labels": {
        "server_id": str(server_id), "server": f"server-{server_id}", "kind": kind,
        **(labels or {}), **{f"__meta_servermon_{k}": v for k, v in meta.items()}}}


def run(coro):
    """Run a coroutine on a fresh loop, closing the HTTP session probes opened there."""

    async def runner():
        try:
            return await coro
        finally:
            await CLIENT.close()

    return asyncio.run(runner())


def promtool_check(text: str) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=30)


class Background:
    """An asyncio loop in a thread, for servers the code under test connects to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="session")
def background() -> Iterator[Background]:
    bg = Background()
    yield bg
    bg.stop()


async def _start_site(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> int:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return runner.addresses[0][1]


class Gauge:
    """Counts requests in flight, to see how many probes ran at once."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def __enter__(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def __exit__(self, *_exc) -> None:
        self.now -= 1


def _web_app(in_flight: Gauge) -> web.Application:
    async def ok(_r):
        return web.Response(text="status: ALL GOOD")

    async def error(_r):
        return web.Response(status=503, text="maintenance")

    async def stall(_r):
        await asyncio.sleep(30)
        return web.Response(text="late")

    async def slow(_r):
        with in_flight:
            await asyncio.sleep(0.3)
        return web.Response(text="slow")

    async def redirect(_r):
        raise web.HTTPFound("/ok")

    async def loop_redirect(_r):
        raise web.HTTPFound("/loop")

    answered: dict[str, int] = {}

    async def once_broken(request):
        """503 the first time each /once-broken/<key> is asked for, fine after."""
        key = request.match_info["key"]
        answered[key] = answered.get(key, 0) + 1
        return web.Response(status=503 if answered[key] == 1 else 200, text="once")

    app = web.Application()
    app.router.add_route("*", "/once-broken/{key}", once_broken)
    for path, handler in (("/ok", ok), ("/error", error), ("/stall", stall), ("/slow", slow),
                          ("/redirect", redirect), ("/loop", loop_redirect)):
        app.router.add_route("*", path, handler)
    return app


@pytest.fixture(scope="session")
def in_flight() -> Gauge:
    return Gauge()


@pytest.fixture(scope="session")
def http_base(background: Background, in_flight: Gauge) -> str:
    """A plain HTTP server: /ok, /error (503), /stall (30 s), /slow, /redirect, /loop."""
    port = background.call(_start_site(_web_app(in_flight)))
    return f"http://127.0.0.1:{port}"


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate(directory: Path, days: float, ca=None) -> tuple[Path, Path, datetime.datetime]:
    """A certificate for ``localhost`` expiring ``days`` from now (negative: expired), signed
    by ``ca`` (key, certificate) or by itself. Returns (cert file, key file, not_after)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    issuer_key, issuer = ca if ca else (key, None)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    not_after = now + datetime.timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(name)
            .issuer_name(issuer.subject if issuer else name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(min(now, not_after) - datetime.timedelta(days=30))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(issuer_key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_key_pem(key))
    return cert_path, key_path, not_after


def certificate_authority(directory: Path) -> tuple[Path, tuple]:
    """A CA (its PEM file, and (key, certificate) to sign with)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "servermon test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=365))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = directory / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, (key, cert)


class TLSSite:
    def __init__(self, port: int, not_after: datetime.datetime, ca_file: Path | None = None):
        self.port = port
        self.base = f"https://localhost:{port}"
        self.expiry = not_after.timestamp()
        self.ca_file = ca_file


def _tls_site(background: Background, directory: Path, days: float, ca=None,
              ca_file: Path | None = None) -> TLSSite:
    cert, key, not_after = certificate(directory, days, ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = background.call(_start_site(_web_app(Gauge()), context))
    return TLSSite(port, not_after, ca_file)


@pytest.fixture(scope="session")
def tls_site(background: Background, tmp_path_factory: pytest.TempPathFactory) -> TLSSite:
    """HTTPS with a self-signed certificate for localhost that expires in 5 days."""
    return _tls_site(background, tmp_path_factory.mktemp("tls"), days=5)


@pytest.fixture(scope="session")
def expired_tls_site(background: Background,
                     tmp_path_factory: pytest.TempPathFactory) -> TLSSite:
    """HTTPS whose certificate, from a test CA (``ca_file``), expired two days ago."""
    directory = tmp_path_factory.mktemp("expired")
    ca_file, ca = certificate_authority(directory)
    return _tls_site(background, directory, days=-2, ca=ca, ca_file=ca_file)


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make verifying probes trust a test CA (through OpenSSL's SSL_CERT_FILE)."""
    from exporter.probes.tls import client_context

    def trust(ca_file: Path) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        client_context.cache_clear()

    yield trust
    client_context.cache_clear()


@pytest.fixture(scope="session")
def dns_server(background: Background) -> str:
    """``127.0.0.1:<port>`` of a local UDP DNS server answering for ZONE."""

    async def start() -> int:
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            DnsProtocol, local_addr=("127.0.0.1", 0))
        return transport.get_extra_info("sockname")[1]

    return f"127.0.0.1:{background.call(start())}"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    """The exporter tests' Redis database, empty before and after the test."""
    client = redis.Redis.from_url(EXPORTER_REDIS_URL, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class SDServer:
    """A stand-in for the portal's /api/sd/targets: serves ``groups``, counts fetches, and
    names ``deployment`` when set."""

    def __init__(self) -> None:
        self.groups: list[dict] = []
        self.deployment: str | None = None
        self.fetches = 0
        self.failing = False
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        async def targets(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer {SD_TOKEN}":
                return web.json_response({"error": "a valid bearer token is required"},
                                         status=401)
            self.fetches += 1
            if self.failing:
                return web.json_response({"error": "down for maintenance"}, status=503)
            headers = {DEPLOYMENT_HEADER: self.deployment} if self.deployment else {}
            return web.Response(text=json.dumps(self.groups), content_type="application/json",
                                headers=headers)

        app = web.Application()
        app.router.add_get("/api/sd/targets", targets)
        self.port = await _start_site(app)


@pytest.fixture(scope="session")
def sd_server_session(background: Background) -> SDServer:
    server = SDServer()
    background.call(server.start())
    return server


@pytest.fixture
def sd_server(sd_server_session: SDServer) -> SDServer:
    sd_server_session.groups = []
    sd_server_session.failing = False
    sd_server_session.deployment = None
    return sd_server_session


def exporter_config(sd_url: str, port: int = 0, **env: str) -> ExporterConfig:
    values = {"PORTAL_URL": sd_url, "SD_TOKEN": SD_TOKEN, "REDIS_URL": EXPORTER_REDIS_URL,
              "EXPORTER_PORT": str(port or free_port()), "EXPORTER_LISTEN": "127.0.0.1",
              "SD_REFRESH_S": "60"}
    values.update(env)
    return ExporterConfig.from_env(values)


class RunningExporter:
    """The whole exporter on its own loop in a thread, as ``python -m exporter`` runs it."""

    def __init__(self, config: ExporterConfig) -> None:
        self.config = config
        self.base = f"http://127.0.0.1:{config.port}"
        self.loop = Background()
        self.exporter = Exporter(config)
        self.loop.call(self.exporter.start())

    def scrape(self) -> str:
        return requests.get(f"{self.base}/metrics", timeout=5).text

    def states(self) -> dict:
        return dict(self.exporter.scheduler.states)

    def stop(self) -> None:
        self.loop.call(self.exporter.stop())
        self.loop.stop()


@pytest.fixture
def start_exporter(redis_db: redis.Redis) -> Iterator[Callable[..., RunningExporter]]:
    started: list[RunningExporter] = []

    def start(sd_url: str, **env: str) -> RunningExporter:
        running = RunningExporter(exporter_config(sd_url, **env))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def running(start_exporter, sd_server: SDServer, redis_db: redis.Redis) -> RunningExporter:
    """The exporter after its first (empty) load, so servers added now are probed at once."""
    exporter = start_exporter(sd_server.url)
    wait_for(lambda: exporter.exporter.scheduler.loaded and exporter.exporter.discovery.up)
    return exporter


def load(exporter: RunningExporter, sd_server: SDServer, groups: list[dict],
         redis_db: redis.Redis, timeout: float = 10) -> dict:
    """Serve ``groups``, announce the change as the portal does, wait for every result."""
    sd_server.groups = groups
    redis_db.publish(channel(TARGETS_CHANNEL, redis_db), json.dumps({"server_id": 0, "action": "updated"}))
    wanted = {int(g["labels"]["server_id"]) for g in groups}

    def probed():
        states = exporter.states()
        return states if set(states) == wanted and all(
            s.result is not None for s in states.values()) else None

    return wait_for(probed, timeout)


@pytest.fixture(scope="session")
def trusted_tls_site(background: Background,
                     tmp_path_factory: pytest.TempPathFactory) -> TLSSite:
    """HTTPS for localhost from a test CA (``ca_file``), valid for 5 days: verifies once
    the CA is trusted (``trusting``), except as 127.0.0.1, which it is not for."""
    directory = tmp_path_factory.mktemp("trusted")
    ca_file, ca = certificate_authority(directory)
    return _tls_site(background, directory, days=5, ca=ca, ca_file=ca_file)
