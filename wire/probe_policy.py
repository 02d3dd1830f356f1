"""Where probes may go: the probe target policy, one home for the portal and the exporter.

The exporter connects wherever a servers.manage role tells it, from inside the bank's
network, so every target is a request to reach an address on that role's behalf. Without
a policy that role could read the cloud metadata service at 169.254.169.254, use the
stack's own Prometheus and Alertmanager (a POST that silences every alert, or shuts
Prometheus down) or scan ports through "test now". The exporter checks the policy on the
address it actually connects to, after name resolution, at every probe: a name that
resolved to a bank server when it was saved may resolve to the metadata service a minute
later (DNS rebinding). The portal refuses literal addresses the policy denies on save.

Three parts, from the environment of both processes:

- ``PROBE_DENY_NETWORKS``: networks never probed (default link-local, 169.254.0.0/16 and
  fe80::/10, where metadata services live).
- ``PROBE_ALLOW_NETWORKS``: when set, the only networks probed (not set: everywhere not
  denied).
- the stack's own endpoints (Prometheus, Alertmanager, Redis, the exporter, and any in
  ``PROBE_DENY_ENDPOINTS``), denied on their port. One on a loopback address is denied on
  every loopback and unspecified address, since 127.0.0.2 and 0.0.0.0 reach it too.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from wire import split_host_port

log = logging.getLogger(__name__)

DEFAULT_DENY_NETWORKS = "169.254.0.0/16,fe80::/10"
_DEFAULT_PORTS = {"http": 80, "https": 443, "redis": 6379, "rediss": 6379}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(name: str, text: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs; ValueError names the setting."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as exc:
        raise ValueError(f"{name} must be comma-separated networks such as 10.0.0.0/8: {exc}") \
            from None


def plain_address(address: str) -> Address:
    """The address as the kernel will use it: no zone, IPv4-mapped IPv6 as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def literal_address(host: str) -> Address | None:
    """``host`` as an address when it is one (brackets allowed), else None for a name."""
    try:
        return plain_address(host.strip("[]"))
    except ValueError:
        return None


def _local(ip: Address) -> bool:
    return ip.is_loopback or ip.is_unspecified


def endpoint(value: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a URL with a port or a known scheme, as host and port."""
    text = value.strip()
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ValueError(f"{value!r} is not host:port or a URL with a port")
    return parts.hostname, port


def destination(kind: str, target: str, dns_resolver: str | None = None
                ) -> tuple[str, int | None] | None:
    """Where a probe of this kind connects first: host and port (None for ICMP); None for
    a DNS probe through the host's own resolver, which the host's configuration names."""
    if kind == "http":
        parts = urlsplit(target)
        return parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme)
    if kind == "tcp":
        return split_host_port(target)
    if kind == "icmp":
        return target, None
    if kind == "heartbeat":
        return None  # nothing is probed: the job pings the portal
    if dns_resolver:
        return split_host_port(dns_resolver, default_port=53)
    return None


def _resolve(host: str, port: int) -> set[Address]:
    ip = literal_address(host)
    if ip is not None:
        return {ip}
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        # Refusing to start would make the exporter depend on every service's name; the
        # endpoint goes unprotected until restart, so say so.
        log.warning("probe policy: %s does not resolve (%s); it is not denied", host, exc)
        return set()
    return {plain_address(info[4][0]) for info in infos}


@dataclass(frozen=True)
class ProbePolicy:
    deny: tuple[Network, ...]
    allow: tuple[Network, ...] = ()
    endpoints: frozenset[tuple[Address, int]] = frozenset()

    @classmethod
    def build(cls, deny: str | None = None, allow: str | None = None,
              endpoints: Iterable[str] = ()) -> ProbePolicy:
        """From the settings' text; endpoint names are resolved once, here."""
        own: set[tuple[Address, int]] = set()
        for value in endpoints:
            host, port = endpoint(value)
            own.update((ip, port) for ip in _resolve(host, port))
        return cls(deny=networks("PROBE_DENY_NETWORKS",
                                 DEFAULT_DENY_NETWORKS if deny is None else deny),
                   allow=networks("PROBE_ALLOW_NETWORKS", allow or ""),
                   endpoints=frozenset(own))

    def refusal(self, address: str | Address, port: int | None) -> str | None:
        """Why a probe may not connect to ``address`` (and ``port``), or None if it may."""
        ip = plain_address(str(address))
        for network in self.deny:
            if ip.version == network.version and ip in network:
                return f"{ip} is in {network}, which is not probed (PROBE_DENY_NETWORKS)"
        if self.allow and not any(ip.version == n.version and ip in n for n in self.allow):
            return f"{ip} is outside the networks probed (PROBE_ALLOW_NETWORKS)"
        if port is not None and ((ip, port) in self.endpoints or (_local(ip) and any(
                _local(own) and own_port == port for own, own_port in self.endpoints))):
            return f"{ip} port {port} is one of servermon's own services, which are not probed"
        return None
