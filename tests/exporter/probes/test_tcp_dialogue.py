"""blackbox's query_response over a real socket: an SMTP-like server that greets, answers
EHLO, upgrades to TLS on STARTTLS and says goodbye."""

import asyncio
import ssl

import pytest

from exporter.probes.tcp_dialogue import open_stream, run_dialogue
from tests.support.targets import self_signed
from wire import query_response_steps


@pytest.fixture(scope="module")
def server_context(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("smtp-tls"), days=1)


def _smtp(context: ssl.SSLContext, heard: list[str]):
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mail.bank.test ESMTP ready\r\n")
        try:
            while line := (await reader.readline()).decode().rstrip("\r\n"):
                heard.append(line)
                if line.startswith("EHLO"):
                    tls = writer.get_extra_info("ssl_object") is not None
                    writer.write(b"250-mail.bank.test\r\n" +
                                 (b"250 AUTH PLAIN\r\n" if tls else b"250 STARTTLS\r\n"))
                elif line == "STARTTLS":
                    writer.write(b"220 go ahead\r\n")
                    await writer.drain()
                    await writer.start_tls(context)
                elif line == "QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"500 what?\r\n")
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
    return session


async def _dialogue(context, steps, *, client_context=None, heard=None):
    heard = [] if heard is None else heard
    server = await asyncio.start_server(_smtp(context, heard), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await open_stream("127.0.0.1", port)
        try:
            async with asyncio.timeout(5):
                reason = await run_dialogue(reader, writer, query_response_steps(steps),
                                            ssl_context=client_context,
                                            server_hostname="localhost")
            return reason, writer.get_extra_info("ssl_object")
        finally:
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


def _trusting(context: ssl.SSLContext) -> ssl.SSLContext:
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    return client


SMTP_STARTTLS = [
    {"expect": "^220 "}, {"send": "EHLO probe.bank.test"}, {"expect": "^250 STARTTLS"},
    {"send": "STARTTLS"}, {"expect": "^220"}, {"starttls": True},
    {"send": "EHLO probe.bank.test"}, {"expect": "^250 AUTH"}, {"send": "QUIT"},
    {"expect": "^221"},
]


def test_a_whole_smtp_dialogue_with_starttls_passes(server_context):
    heard: list[str] = []
    reason, tls = asyncio.run(_dialogue(server_context, SMTP_STARTTLS,
                                        client_context=_trusting(server_context), heard=heard))
    assert reason is None
    assert tls is not None and tls.version().startswith("TLS")
    assert heard == ["EHLO probe.bank.test", "STARTTLS", "EHLO probe.bank.test", "QUIT"]


def test_expect_reads_lines_until_one_matches(server_context):
    steps = [{"expect": "^220"}, {"send": "EHLO x"}, {"expect": "STARTTLS$"},
             {"send": "QUIT"}, {"expect": "^221"}]
    assert asyncio.run(_dialogue(server_context, steps))[0] is None


def test_a_line_that_never_comes_fails_naming_the_step_and_the_last_line(server_context):
    steps = [{"expect": "^220"}, {"send": "QUIT"}, {"expect": "^250 OK"}]
    reason, _ = asyncio.run(_dialogue(server_context, steps))
    assert reason == ("step 3: expected a line matching '^250 OK', the connection closed "
                      "(last line '221 bye')")


def test_starttls_with_an_untrusted_certificate_fails_on_verification(server_context):
    steps = SMTP_STARTTLS[:6]
    reason, _ = asyncio.run(_dialogue(server_context, steps,
                                      client_context=ssl.create_default_context()))
    assert reason.startswith("step 6: starttls: certificate ")
    assert "self-signed" in reason or "self signed" in reason


def test_a_step_with_expect_and_send_does_both_in_order(server_context):
    heard: list[str] = []
    steps = [{"expect": "^220", "send": "QUIT"}, {"expect": "^221"}]
    assert asyncio.run(_dialogue(server_context, steps, heard=heard))[0] is None
    assert heard == ["QUIT"]
