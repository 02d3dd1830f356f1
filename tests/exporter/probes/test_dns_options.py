"""blackbox's DNS options against a real local server answering over UDP and TCP alike:
the transport asked for is the one used, and the answer records are checked by regex."""

import asyncio
import struct

import dns.asyncresolver
import dns.message
import dns.rrset
import pytest

from exporter.probes.dns_options import (
    answer_problem,
    answer_rr_texts,
    needs_dnspython,
    query,
    target_answer_problem,
)
from exporter.targets import Target

ZONE = {("www.bank.test.", "A"): ["10.0.0.7", "10.0.0.8"],
        ("mail.bank.test.", "MX"): ["10 mx1.bank.test."]}


def _answer(data: bytes) -> bytes:
    query_message = dns.message.from_wire(data)
    response = dns.message.make_response(query_message)
    question = query_message.question[0]
    name, rdtype = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
    if (name, rdtype) in ZONE:
        response.answer.append(dns.rrset.from_text_list(name, 300, "IN", rdtype,
                                                        ZONE[(name, rdtype)]))
    return response.to_wire()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, heard: list[str]) -> None:
        self.heard = heard

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.heard.append("udp")
        self.transport.sendto(_answer(data), addr)


async def _servers(heard: list[str]):
    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
        heard.append("tcp")
        reply = _answer(await reader.readexactly(size))
        writer.write(struct.pack("!H", len(reply)) + reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(tcp, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Udp(heard), local_addr=("127.0.0.1", port))
    return server, udp, port


async def _ask(name: str, record_type: str, transport: str):
    heard: list[str] = []
    server, udp, port = await _servers(heard)
    try:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], port
        answer = await query(resolver, name, record_type, transport=transport, lifetime=3)
        return answer, heard
    finally:
        udp.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_the_query_goes_over_the_transport_asked_for(transport):
    answer, heard = asyncio.run(_ask("www.bank.test", "A", transport))
    assert heard == [transport]
    assert sorted(rdata.to_text() for rdata in answer) == ["10.0.0.7", "10.0.0.8"]


def test_answer_records_are_matched_as_their_zone_file_lines():
    answer, _ = asyncio.run(_ask("mail.bank.test", "MX", "tcp"))
    lines = answer_rr_texts(answer.response)
    assert lines == ["mail.bank.test. 300 IN MX 10 mx1.bank.test."]
    assert answer_problem(lines, r"IN\s+MX\s+10 mx1\.") is None
    assert answer_problem(lines, "mx9") == "no answer record matches 'mx9'"
    assert answer_problem(lines, absent="mx1") == \
        "an answer record matches 'mx1': mail.bank.test. 300 IN MX 10 mx1.bank.test."
    assert answer_problem(lines) is None


def test_a_targets_regexes_over_a_response():
    answer, _ = asyncio.run(_ask("www.bank.test", "A", "udp"))
    target = Target.from_settings(1, "www", "dns", "www.bank.test", {
        "dns_answer_regex": r"IN\s+A\s+10\.0\.0\.", "dns_answer_absent_regex": r"10\.0\.0\.8$"},
        "")
    assert target_answer_problem(target, answer.response) == \
        "an answer record matches '10\\\\.0\\\\.0\\\\.8$': www.bank.test. 300 IN A 10.0.0.8"
    assert needs_dnspython(target)
    plain = Target.from_settings(1, "www", "dns", "www.bank.test", {}, "")
    assert target_answer_problem(plain, answer.response) is None and not needs_dnspython(plain)
    assert needs_dnspython(Target.from_settings(1, "w", "dns", "w.test", {"dns_transport": "tcp"},
                                                ""))
