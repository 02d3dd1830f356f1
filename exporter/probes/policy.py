"""The probe target policy (wire/probe_policy.py) applied where the probes connect.

Each probe checks the addresses it is about to connect to, after resolving the name
itself, and connects to exactly those: resolving once to check and again to connect
would let a name change in between (DNS rebinding). A refusal is a failed probe whose
reason says why, never a connection attempt, so the answer cannot tell an open port from
a closed one.
"""

from __future__ import annotations

import asyncio
import socket
from functools import lru_cache

from exporter.targets import Target
from wire.probe_policy import ProbePolicy, literal_address
from wire.probe_policy import destination as probe_destination


class Denied(OSError):
    """The policy forbids the address; the message is the reason staff read."""


class _Installed:
    policy = ProbePolicy.build()  # the defaults until the exporter installs its settings


def install(policy: ProbePolicy) -> None:
    _Installed.policy = policy
    _refusal.cache_clear()


def current() -> ProbePolicy:
    return _Installed.policy


def check(address: str, port: int | None) -> None:
    """Raise Denied when the policy forbids ``address`` (and ``port``)."""
    reason = _refusal(address, port)
    if reason:
        raise Denied(f"not probed: {reason}")


@lru_cache(maxsize=65536)
def _refusal(address: str, port: int | None) -> str | None:
    """The installed policy's answer, kept per address and port until another is
    installed: parsing the address was 3 % of the exporter's CPU at 10,000 servers."""
    return _Installed.policy.refusal(address, port)


async def resolve(host: str, port: int | None, kind: int = socket.SOCK_STREAM) -> list[str]:
    """The addresses ``host`` has now, each allowed, or Denied if any is not.

    Any denied address refuses the whole name: a name that resolves both to a bank server
    and to the metadata service is not one to probe.
    """
    ip = literal_address(host)
    if ip is not None:
        check(str(ip), port)
        return [str(ip)]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        check(address, port)
    return addresses


async def check_target(target: Target) -> None:
    """Denied before a one-off probe, so that "test now" answers 400 naming the target.

    The probe checks again as it connects (the name may have changed since); a name that
    does not resolve is left for the probe to report.
    """
    destination = probe_destination(target.kind, target.address, target.dns_resolver)
    if destination is None:
        return
    try:
        await resolve(*destination)
    except Denied:
        raise
    except (OSError, UnicodeError):
        return
