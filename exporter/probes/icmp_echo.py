"""ICMP echo that also reads each reply's hop limit (TTL for IPv4), for blackbox's
``probe_icmp_reply_hop_limit``.

icmplib builds, sends and parses the packets; only the receive is done here, with
``recvmsg``, because the hop limit is not in the ICMP message: the kernel hands it over as
ancillary data once asked (``IP_RECVTTL``, ``IPV6_RECVHOPLIMIT``), or, on a raw IPv4
socket, it is byte 8 of the IP header in front of the reply. The loop is icmplib's own
``async_ping``'s: ``count`` requests ``interval`` apart, each waited for up to ``timeout``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass, field
from time import time

from icmplib import ICMPRequest, ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPLibError, ICMPSocketError, TimeoutExceeded
from icmplib.sockets import AsyncSocket
from icmplib.utils import is_ipv6_address, unique_identifier

_ANCILLARY = socket.CMSG_SPACE(struct.calcsize("i"))
_HOP_LIMITS = {(socket.IPPROTO_IP, socket.IP_TTL), (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)}


@dataclass(slots=True)
class Echoes:
    """What a run of echo requests came back with."""

    sent: int = 0
    rtts_s: list[float] = field(default_factory=list)
    hop_limit: int | None = None  # of the last reply; None when none came or none said

    @property
    def loss_ratio(self) -> float:
        return 1.0 - len(self.rtts_s) / self.sent if self.sent else 1.0


def _hop_limit(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if (level, kind) in _HOP_LIMITS and len(data) >= 4:
            return struct.unpack("i", data[:4])[0]
    return None


class _HopLimitSocket(AsyncSocket):
    """icmplib's AsyncSocket, receiving with recvmsg so each reply brings its hop limit."""

    __slots__ = ("_ipv6", "_raw_v4", "hop_limit")

    def __init__(self, icmp_sock: ICMPv4Socket | ICMPv6Socket) -> None:
        super().__init__(icmp_sock)
        self.hop_limit: int | None = None
        self._ipv6 = isinstance(icmp_sock, ICMPv6Socket)
        self._raw_v4 = not self._ipv6 and icmp_sock.is_privileged
        sock = icmp_sock.sock
        if self._ipv6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        elif not self._raw_v4:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTTL, 1)

    async def _recvmsg(self, wait_s: float) -> tuple[bytes, list]:
        loop = asyncio.get_running_loop()
        sock = self._icmp_sock.sock
        ready: asyncio.Future = loop.create_future()

        def readable() -> None:
            if ready.done():
                return
            try:
                data, ancillary, _flags, _address = sock.recvmsg(1024, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                ready.set_exception(exc)
            else:
                ready.set_result((data, ancillary))

        loop.add_reader(sock.fileno(), readable)
        try:
            return await asyncio.wait_for(ready, wait_s)
        finally:
            loop.remove_reader(sock.fileno())

    async def receive(self, request: ICMPRequest | None = None, timeout: float = 2):
        deadline = time() + timeout
        try:
            while True:
                data, ancillary = await self._recvmsg(max(deadline - time(), 0))
                now = time()
                if now > deadline:
                    raise TimeoutExceeded(timeout)
                reply = self._icmp_sock._parse_reply(packet=data, source=None, current_time=now)
                if reply and (request is None or (request.id, request.sequence) ==
                              (reply.id, reply.sequence)):
                    self.hop_limit = data[8] if self._raw_v4 and len(data) > 8 \
                        else _hop_limit(ancillary)
                    return reply
        except TimeoutError:
            raise TimeoutExceeded(timeout) from None
        except OSError as exc:
            raise ICMPSocketError(str(exc)) from None


async def echo(address: str, *, count: int, interval_s: float, timeout_s: float,
               privileged: bool) -> Echoes:
    """``count`` echo requests to ``address`` (an IP address), as icmplib's async_ping
    sends them. Raises icmplib's SocketPermissionError when this mode is not allowed."""
    kind = ICMPv6Socket if is_ipv6_address(address) else ICMPv4Socket
    identifier = unique_identifier()
    echoes = Echoes()
    with _HopLimitSocket(kind(None, privileged)) as sock:
        for sequence in range(count):
            if sequence:
                await asyncio.sleep(interval_s)
            request = ICMPRequest(destination=address, id=identifier, sequence=sequence)
            try:
                sock.send(request)
                echoes.sent += 1
                reply = await sock.receive(request, timeout_s)
                reply.raise_for_status()
            except ICMPLibError:
                continue
            echoes.rtts_s.append(reply.time - request.time)
            echoes.hop_limit = sock.hop_limit
    return echoes
