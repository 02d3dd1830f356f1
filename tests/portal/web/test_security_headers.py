"""Finding 16: HSTS over https, no-store on API answers and pages, ``__Host-`` cookies when
Secure, and 503s that do not tell every role where Prometheus and the exporter live."""

import pytest

from tests.conftest import fresh_app, make_config
from tests.factories import PASSWORD, login, make_server, make_user


@pytest.fixture
def https_client(migrated):
    with fresh_app(make_config(migrated, PORTAL_URL="https://servermon.bank.example")) as app:
        yield app.test_client()


def test_https_answers_carry_hsts_and_plain_http_ones_do_not(https_client, client):
    for path in ("/login", "/healthz", "/api/nope"):
        assert https_client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "Strict-Transport-Security" not in client.get(path).headers


def test_api_answers_and_pages_are_not_stored_but_static_files_may_be(client):
    headers = login(client, make_user("it_staff"))
    for path in ("/api/servers", "/api/auth/me", "/api/nope"):
        assert client.get(path, headers=headers).headers["Cache-Control"] == "no-store", path
    client.post("/login", data={"username": make_user("admin").username, "password": PASSWORD})
    for path in ("/", "/servers", "/login", "/logs.csv"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    static = client.get("/static/app.css")
    assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"


def test_secure_cookies_take_the_host_prefix(https_client):
    user = make_user("it_staff")
    response = https_client.post("/login", data={"username": user.username, "password": PASSWORD},
                                 base_url="https://servermon.bank.example")
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert names == {"__Host-access_token_cookie", "__Host-refresh_token_cookie",
                     "__Host-csrf_access_token", "__Host-csrf_refresh_token"}
    for cookie in cookies:  # what a browser demands of the prefix
        assert "; Secure" in cookie and "; Path=/" in cookie and "Domain=" not in cookie
    page = https_client.get("/dashboard", base_url="https://servermon.bank.example")
    assert page.status_code == 200, page.headers.get("Location")  # signed in by the cookies


def test_plain_http_keeps_the_plain_names(client):
    client.post("/login", data={"username": make_user("it_staff").username, "password": PASSWORD})
    assert client.get_cookie("access_token_cookie") is not None


def test_a_503_does_not_tell_a_viewer_where_prometheus_or_the_exporter_is(client):
    make_server("cbs")
    viewer = login(client, make_user("customer_engagement"))
    chart = client.get("/api/charts/latency?server_id=1", headers=viewer)
    assert chart.status_code == 503
    assert "127.0.0.1" not in chart.get_data(as_text=True)
    manager = login(client, make_user("it_staff"))
    probe = client.post("/api/servers/test", headers=manager,
                        json={"name": "x", "kind": "tcp", "target": "10.0.0.1:22"})
    assert probe.status_code == 503 and "127.0.0.1" not in probe.get_data(as_text=True)
