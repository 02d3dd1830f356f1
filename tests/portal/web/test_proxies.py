"""X-Forwarded-* and Forwarded are believed only from the configured proxies; from anyone
else they are removed before the app, or anything in it, can read them."""

from ipaddress import ip_network

from werkzeug.test import Client

from portal.web.proxies import TrustedProxies

NGINX_HERE = (ip_network("127.0.0.1/32"), ip_network("::1/128"))
FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "servermon.bank.example", "X-Forwarded-Port": "8443",
             "X-Forwarded-Prefix": "/evil", "Forwarded": "for=203.0.113.9;proto=https"}


def _seen(networks, peer: str) -> dict:
    """What the app behind the middleware sees of a request from ``peer`` with every
    forwarding header set."""
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    Client(TrustedProxies(app, networks)).get(
        "/", base_url="http://portal:8000", headers=FORWARDED, environ_base={"REMOTE_ADDR": peer})
    return seen


def test_a_trusted_proxy_tells_the_client_address_scheme_and_host():
    seen = _seen(NGINX_HERE, "127.0.0.1")
    assert seen["REMOTE_ADDR"] == "203.0.113.9"
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["HTTP_HOST"] == "servermon.bank.example"


def test_from_anyone_else_every_forwarding_header_is_removed():
    seen = _seen(NGINX_HERE, "198.51.100.20")
    assert seen["REMOTE_ADDR"] == "198.51.100.20"
    assert seen["wsgi.url_scheme"] == "http"
    assert seen["HTTP_HOST"] == "portal:8000"
    assert not [key for key in seen if "FORWARDED" in key]


def test_a_trusted_proxy_is_not_believed_on_port_or_prefix():
    seen = _seen(NGINX_HERE, "127.0.0.1")
    assert seen["SCRIPT_NAME"] == ""
    assert "HTTP_X_FORWARDED_PORT" not in seen and "HTTP_X_FORWARDED_PREFIX" not in seen


def test_networks_and_ipv6_peers_match():
    compose = (ip_network("172.16.0.0/12"), ip_network("fd00::/8"))
    assert _seen(compose, "172.18.0.5")["REMOTE_ADDR"] == "203.0.113.9"
    assert _seen(compose, "fd00::5")["REMOTE_ADDR"] == "203.0.113.9"
    assert _seen(compose, "172.32.0.5")["REMOTE_ADDR"] == "172.32.0.5"
    assert _seen(NGINX_HERE, "::1")["REMOTE_ADDR"] == "203.0.113.9"


def test_an_ipv4_peer_on_a_dual_stack_socket_matches_its_ipv4_network():
    assert _seen(NGINX_HERE, "::ffff:127.0.0.1")["REMOTE_ADDR"] == "203.0.113.9"


def test_no_networks_trust_nobody_not_even_this_host():
    seen = _seen((), "127.0.0.1")
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert not [key for key in seen if "FORWARDED" in key]


def test_a_peer_that_is_no_address_is_not_trusted():
    seen = _seen(NGINX_HERE, "")
    assert not [key for key in seen if "FORWARDED" in key]
