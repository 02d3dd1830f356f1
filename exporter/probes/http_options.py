"""blackbox-style HTTP module options, as request arguments: what ``probe_http`` adds to
its ``session.request`` for a target's headers, basic auth or bearer token, body and TLS
client certificate, and the address family its ``ip_protocol`` allows.

Pure functions of the Target (the TLS contexts cached), so the probe stays one request;
the family helpers serve the TCP, ICMP and DNS probes too.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import ssl
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from exporter.probes.tls import client_context
from exporter.targets import Target

FAMILIES = {"": socket.AF_UNSPEC, "ip4": socket.AF_INET, "ip6": socket.AF_INET6}
_FAMILY_NAMES = {"ip4": "IPv4", "ip6": "IPv6"}


def request_kwargs(target: Target) -> dict[str, Any]:
    """The keyword arguments of ``ClientSession.request`` for ``target``'s options.

    ``headers`` are the target's, which aiohttp merges over the session's (its
    User-Agent, unless the target names one); a bearer token or basic auth (UTF-8, as
    blackbox) is an Authorization header; ``data`` the body, UTF-8; ``ssl`` the context with
    the client certificate loaded when there is one, else the plain one for tls_verify.
    """
    headers = dict(target.http_headers)
    if target.http_bearer_token:
        headers["Authorization"] = f"Bearer {target.http_bearer_token}"
    if target.http_basic_auth is not None:
        pair = ":".join(target.http_basic_auth).encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
    kwargs: dict[str, Any] = {
        "ssl": ssl_context(target.tls_verify, target.tls_client_cert, target.tls_client_key)}
    if headers:
        kwargs["headers"] = headers
    if target.http_body is not None:
        kwargs["data"] = target.http_body.encode()
    return kwargs


def ssl_context(verify: bool, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """The TLS client context: ``tls.client_context(verify)`` without a client certificate,
    else one per (verify, cert, key), built once (building one costs more than a probe)."""
    if not cert or not key:
        return client_context(verify)
    return _with_client_cert(verify, cert, key)


@lru_cache(maxsize=256)
def _with_client_cert(verify: bool, cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # ssl loads a chain only from files: written to a folder only this process can read,
    # loaded, and removed at once.
    with tempfile.TemporaryDirectory(prefix="servermon-tls-") as folder:
        cert_file, key_file = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, text in ((cert_file, cert), (key_file, key)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
        try:
            context.load_cert_chain(cert_file, key_file)
        except (ssl.SSLError, ValueError) as exc:
            # The library's words only: they never quote the key.
            raise ValueError(f"tls_client_cert and tls_client_key do not load: {exc}") from None
    return context


def family(ip_protocol: str) -> int:
    """``socket.AF_INET``, ``AF_INET6`` or ``AF_UNSPEC`` for ``""``, ``ip4``, ``ip6``."""
    return FAMILIES[ip_protocol]


def _is_family(address: str, ip_protocol: str) -> bool:
    try:
        version = ipaddress.ip_address(address.split("%", 1)[0]).version
    except ValueError:
        return False
    return version == (4 if ip_protocol == "ip4" else 6)


def keep_family(addresses: Iterable[str], ip_protocol: str) -> list[str]:
    """The addresses of the family ``ip_protocol`` asks for (all of them for ``""``); no
    fallback to the other family, as blackbox's ``ip_protocol_fallback: false``."""
    addresses = list(addresses)
    if not ip_protocol:
        return addresses
    return [address for address in addresses if _is_family(address, ip_protocol)]


def keep_resolved(results: list[dict], ip_protocol: str, host: str) -> list[dict]:
    """aiohttp resolver results (dicts with ``host``) of the wanted family; OSError naming
    the family when none is left, which the probe reports as it does a failed lookup."""
    if not ip_protocol:
        return results
    kept = [result for result in results if _is_family(result["host"], ip_protocol)]
    if not kept:
        raise OSError(no_address_reason(host, ip_protocol))
    return kept


def no_address_reason(host: str, ip_protocol: str) -> str:
    return f"{host} has no {_FAMILY_NAMES.get(ip_protocol, 'IP')} address (ip_protocol {ip_protocol})"
