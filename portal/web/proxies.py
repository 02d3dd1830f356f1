"""Believing X-Forwarded-* only from the proxies that set them (``TRUSTED_PROXIES``).

Anyone can send ``X-Forwarded-For``; only nginx's is worth anything, and only when the
request really came from nginx. Trusting it from every peer let a client name a fresh
address per request and walk past the per-address sign-in throttle. So the headers are
applied (werkzeug's ProxyFix, one hop) when the peer is a configured proxy, and removed
from the environ otherwise, so that nothing further in can read them by mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address

from werkzeug.middleware.proxy_fix import ProxyFix

# What a client may claim about itself through a proxy. Port and prefix are not believed
# even from nginx (it does not set them), so they are removed from every request.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                      "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")
NOT_BELIEVED = ("HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")

Network = IPv4Network | IPv6Network


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests from ``networks``, no forwarding headers for
    the rest."""

    def __init__(self, app: Callable, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)
        self.proxied = ProxyFix(app, x_for=1, x_proto=1, x_host=1)

    def trusts(self, peer: str | None) -> bool:
        try:
            address = ip_address(peer or "")
        except ValueError:  # a Unix socket, or nothing: no proxy we know of
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # an IPv4 peer on a dual-stack socket
        return any(address in network for network in self.networks)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        trusted = self.trusts(environ.get("REMOTE_ADDR"))
        for key in NOT_BELIEVED if trusted else FORWARDING_HEADERS:
            environ.pop(key, None)
        return (self.proxied if trusted else self.app)(environ, start_response)
