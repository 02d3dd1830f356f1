"""The probe target policy in the portal: a literal address it denies is refused on save
with a 400 naming the field, and "test now" (through the real exporter, which resolves
names) refuses a name that resolves to one, and is limited per user.

The attack: a servers.manage role saved http://127.0.0.1:9090/-/quit and Prometheus shut
down; pointed "test now" at the metadata service and scanned ports with TCP tests.
"""

import socket
from urllib.parse import urlsplit

import pytest

from portal.servers.probe_now import TESTS_PER_MINUTE
from tests.conftest import TEST_REDIS_URL, fresh_app, make_config
from tests.factories import login, make_user
from tests.support.binaries import free_port
from tests.support.exporter_process import exporter_process

PROMETHEUS = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"
REDIS_PORT = urlsplit(TEST_REDIS_URL).port or 6379


@pytest.fixture
def policy_client(migrated):
    with fresh_app(make_config(migrated, PROMETHEUS_URL=PROMETHEUS, ALERTMANAGER_URL=ALERTMANAGER,
                               PROBE_DENY_ENDPOINTS="10.0.0.9:3000")) as app:
        yield app.test_client()


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"kind": "http", "target": "http://169.254.169.254/latest/meta-data/"}, "target",
     "169.254.169.254 is in 169.254.0.0/16, which is not probed (PROBE_DENY_NETWORKS)"),
    ({"kind": "http", "target": "http://[fe80::a9fe:a9fe]/"}, "target", "fe80::/10"),
    ({"kind": "http", "target": f"{PROMETHEUS}/-/quit", "http_method": "POST"}, "target",
     "127.0.0.1 port 9090 is one of servermon's own services"),
    ({"kind": "http", "target": "http://localhost:9093/api/v2/silences", "http_method": "POST"},
     "target", "port 9093 is one of servermon's own services"),
    ({"kind": "tcp", "target": f"127.0.0.1:{REDIS_PORT}"}, "target", f"port {REDIS_PORT}"),
    ({"kind": "tcp", "target": "[::1]:9090"}, "target", "::1 port 9090"),
    ({"kind": "tcp", "target": "10.0.0.9:3000"}, "target", "10.0.0.9 port 3000"),
    ({"kind": "icmp", "target": "169.254.169.254"}, "target", "169.254.0.0/16"),
    ({"kind": "dns", "target": "bank.test", "dns_resolver": "169.254.169.253"}, "dns_resolver",
     "169.254.0.0/16"),
])
def test_saving_a_denied_address_is_a_400_naming_the_field(policy_client, body, field, reason):
    headers = login(policy_client, make_user("it_staff"))
    for path in ("/api/servers", "/api/servers/test"):
        response = policy_client.post(path, json={"name": "probe", **body}, headers=headers)
        assert response.status_code == 400, (path, response.get_json())
        assert reason in response.get_json()["details"][field], response.get_json()


def test_an_edit_to_a_denied_address_is_refused_too(policy_client):
    headers = login(policy_client, make_user("it_staff"))
    created = policy_client.post("/api/servers", headers=headers,
                                 json={"name": "cbs", "kind": "tcp", "target": "10.0.0.9:3001"})
    assert created.status_code == 201
    response = policy_client.patch(f"/api/servers/{created.get_json()['id']}", headers=headers,
                                   json={"target": "169.254.169.254:80"})
    assert response.status_code == 400 and "target" in response.get_json()["details"]


def test_a_remote_prometheus_is_a_server_like_any_other(policy_client):
    headers = login(policy_client, make_user("it_staff"))
    response = policy_client.post("/api/servers", headers=headers, json={
        "name": "dc2-prometheus", "kind": "http", "target": "http://10.20.0.4:9090/-/healthy"})
    assert response.status_code == 201


@pytest.fixture(scope="module")
def guarded_port():
    return free_port()


@pytest.fixture(scope="module")
def exporter_url(tmp_path_factory, guarded_port):
    """The real exporter, told that ``guarded_port`` on this host is one of the stack's."""
    with exporter_process(tmp_path_factory.mktemp("exporter"), make_config("sqlite://").sd_token,
                          PROBE_DENY_ENDPOINTS=f"127.0.0.1:{guarded_port}") as url:
        yield url


@pytest.fixture
def probe_client(migrated, exporter_url):
    with fresh_app(make_config(migrated, EXPORTER_URL=exporter_url)) as app:
        yield app.test_client()


def test_test_now_refuses_a_name_that_resolves_to_a_denied_address(probe_client, guarded_port):
    """``vm`` is this host's name (/etc/hosts: 127.0.0.1): only the exporter, resolving
    it, can tell; it answers before connecting, so the port is never touched."""
    hostname = socket.gethostname()
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", guarded_port))
        listener.listen()
        listener.settimeout(0.3)
        headers = login(probe_client, make_user("it_staff"))
        response = probe_client.post("/api/servers/test", headers=headers, json={
            "name": "x", "kind": "tcp", "target": f"{hostname}:{guarded_port}"})
        assert response.status_code == 400, response.get_json()
        assert "one of servermon's own services" in response.get_json()["details"]["target"]
        with pytest.raises(TimeoutError):
            listener.accept()


def test_test_now_is_limited_per_user(probe_client):
    first, second = make_user("it_staff"), make_user("it_staff")
    headers = login(probe_client, first)
    body = {"name": "db", "kind": "tcp", "target": f"127.0.0.1:{free_port()}"}
    answers = [probe_client.post("/api/servers/test", json=body, headers=headers)
               for _ in range(TESTS_PER_MINUTE + 1)]
    # A clock minute may turn during the loop; then the count starts again, once.
    limited = [answer for answer in answers if answer.status_code == 429]
    assert len(limited) <= 1 and all(a.status_code in (200, 429) for a in answers)
    if not limited:  # the count started again part way: a full minute's worth more
        answers = [probe_client.post("/api/servers/test", json=body, headers=headers)
                   for _ in range(TESTS_PER_MINUTE + 1)]
        limited = [answer for answer in answers if answer.status_code == 429]
    assert limited[0].status_code == 429 and int(limited[0].headers["Retry-After"]) >= 1
    other = probe_client.post("/api/servers/test", json=body, headers=login(probe_client, second))
    assert other.status_code == 200
