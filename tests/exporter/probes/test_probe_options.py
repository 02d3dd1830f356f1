"""The blackbox module options through the probes themselves (``run_probe``), as the
scheduler and /probe run them, against real local servers: what the server received, and
what the result and its metric lines say. tests/exporter/probes/test_*_options.py and
test_tcp_dialogue.py test the pieces on their own."""

import asyncio
import json
import socket
import ssl

import pytest
from aiohttp import web

from exporter.metrics import probe_text
from exporter.probes import run_probe
from exporter.targets import Target
from tests.exporter.probes.test_dns_options import _servers as dns_servers
from tests.exporter.probes.test_http_options import pki  # noqa: F401 - a fixture
from tests.exporter.probes.test_tcp_dialogue import SMTP_STARTTLS, _smtp, server_context  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def _target(kind: str, address: str, **settings: str) -> Target:
    return Target.from_settings(1, "s1", kind, address, {"timeout_s": "5", **settings}, "")


async def _http_server(heard: list[dict], context: ssl.SSLContext | None = None):
    async def echo(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        heard.append({"method": request.method, "headers": dict(request.headers),
                      "body": (await request.read()).decode(), "client": bool(peer)})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock, ssl_context=context).start()
    return runner, sock.getsockname()[1]


def _probe_http(settings: dict, context: ssl.SSLContext | None = None):
    async def run():
        heard: list[dict] = []
        runner, port = await _http_server(heard, context)
        scheme = "https" if context else "http"
        try:
            result = await run_probe(_target("http", f"{scheme}://127.0.0.1:{port}/",
                                             **settings))
        finally:
            await runner.cleanup()
        return result, heard

    return asyncio.run(run())


def test_an_http_probe_sends_the_servers_headers_auth_and_body():
    result, heard = _probe_http({
        "http_method": "POST", "http_headers": json.dumps({"X-Api-Key": "k-123"}),
        "http_basic_auth_username": "probe", "http_basic_auth_password": "s3cret",
        "http_body": '{"ping": 1}'})
    assert result.success, result.reason
    [request] = heard
    assert request["method"] == "POST" and request["body"] == '{"ping": 1}'
    assert request["headers"]["X-Api-Key"] == "k-123"
    assert request["headers"]["Authorization"] == "Basic cHJvYmU6czNjcmV0"
    assert request["headers"]["User-Agent"] == "servermon-exporter/1"


def test_a_server_demanding_a_client_certificate_is_up_only_with_the_servers_own(pki):  # noqa: F811
    folder = pki["folder"]
    demanding = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    demanding.load_cert_chain(folder / "server.pem", folder / "server.key")
    demanding.load_verify_locations(folder / "ca.pem")
    demanding.verify_mode = ssl.CERT_REQUIRED
    without, _ = _probe_http({"tls_verify": "false"}, demanding)
    assert not without.success
    assert without.reason_code in ("tls_error", "reset"), without
    with_cert, heard = _probe_http({"tls_verify": "false", "tls_client_cert": pki["client_cert"],
                                    "tls_client_key": pki["client_key"]}, demanding)
    assert with_cert.success, with_cert.reason
    assert heard[-1]["client"] is True
    assert b'probe_http_ssl 1\n' in probe_text(with_cert)


def test_ip_protocol_keeps_the_probe_to_one_family():
    over_v4, heard = _probe_http({"ip_protocol": "ip4"})
    assert over_v4.success and over_v4.ip_protocol == 4 and heard
    over_v6, heard = _probe_http({"ip_protocol": "ip6"})
    assert not over_v6.success and heard == []  # never connected over IPv4
    assert over_v6.reason_code == "dns_no_record"
    assert over_v6.reason == "127.0.0.1 has no IPv6 address (ip_protocol ip6)"


def _probe_smtp(context: ssl.SSLContext, steps: list[dict]):
    async def run():
        heard: list[str] = []
        server = await asyncio.start_server(_smtp(context, heard), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await run_probe(_target("tcp", f"localhost:{port}", tls_verify="false",
                                           ip_protocol="ip4",
                                           tcp_query_response=json.dumps(steps))), heard
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(run())


def test_a_tcp_dialogue_with_starttls_passes_and_records_the_certificate(server_context):  # noqa: F811
    result, heard = _probe_smtp(server_context, SMTP_STARTTLS)
    assert result.success, result.reason
    assert heard == ["EHLO probe.bank.test", "STARTTLS", "EHLO probe.bank.test", "QUIT"]
    assert result.cert_expiry is not None and result.tls_version  # read after starttls
    text = probe_text(result).decode()
    assert "probe_failed_due_to_regex 0\n" in text


def test_a_tcp_dialogue_step_that_fails_is_a_query_response_failure(server_context):  # noqa: F811
    # QUIT's answer is 221 and the server hangs up: the 250 expected never comes.
    result, _ = _probe_smtp(server_context, [{"expect": "^220 "}, {"send": "QUIT"},
                                             {"expect": "^250 "}])
    assert not result.success and result.reason_code == "query_response"
    assert result.reason.startswith("step 3:"), result.reason
    text = probe_text(result).decode()
    assert 'probe_failure_info{reason="query_response"} 1' in text
    assert "probe_failed_due_to_regex 1\n" in text
    assert "probe_ip_protocol 4\n" in text  # it connected: the address facts stay


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_dns_probe_asks_over_the_transport_and_checks_the_answer_records(transport):
    async def run(**settings):
        heard: list[str] = []
        server, udp, port = await dns_servers(heard)
        try:
            result = await run_probe(_target("dns", "www.bank.test",
                                             dns_resolver=f"127.0.0.1:{port}",
                                             dns_transport=transport, **settings))
        finally:
            udp.close()
            server.close()
            await server.wait_closed()
        return result, heard

    matching, heard = asyncio.run(run(dns_answer_regex=r"IN A 10\.0\.0\.8$"))
    assert matching.success, matching.reason
    assert heard == [transport]
    refused, _ = asyncio.run(run(dns_answer_absent_regex=r"10\.0\.0\.7"))
    assert not refused.success and refused.reason_code == "dns_answer"
    assert "10.0.0.7" in refused.reason
