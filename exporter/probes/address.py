"""``probe_ip_protocol`` and ``probe_ip_addr_hash`` of the address a probe talked to.

The hash is blackbox's: 32-bit FNV-1a over the address's packed bytes (4 for IPv4, 16 for
IPv6; 127.0.0.1 hashes to 3668918509), as a float, so that a change of address shows.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes) -> int:
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


@lru_cache(maxsize=65536)
def address_facts(address: str) -> tuple[int, float] | None:
    """(4 or 6, hash) of an IP address in text form; None if it is not one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.version, float(fnv32a(ip.packed))
