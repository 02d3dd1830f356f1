"""Charts and uptime through the real Prometheus, scraping a fixed metrics page."""

import pytest

from portal.charts.uptime import refresh_uptime
from tests.conftest import fresh_app, make_config
from tests.factories import PASSWORD, login, make_server, make_user


@pytest.fixture
def chart_client(migrated, prometheus):
    with fresh_app(make_config(migrated, PROMETHEUS_URL=prometheus)) as app:
        yield app.test_client()


def test_latency_and_status_charts_come_from_prometheus(chart_client):
    server = make_server("cbs")
    assert server.id == 1
    headers = login(chart_client, make_user("customer_engagement"))
    body = chart_client.get("/api/charts/latency?server_id=1&range=1h", headers=headers).get_json()
    [series] = body["series"]
    assert series["labels"]["server"] == "cbs" and series["points"][-1][1] == 0.25
    status = chart_client.get("/api/charts/status?server_id=1", headers=headers).get_json()
    assert status["series"][0]["points"][-1][1] == 1.0


def test_availability_and_certificate_expiry(chart_client):
    make_server("cbs")
    headers = login(chart_client, make_user("flexipay_support"))
    body = chart_client.get("/api/charts/availability?server_id=1", headers=headers).get_json()
    assert body["availability_pct"] == {"1h": 100.0, "24h": 100.0, "7d": 100.0, "30d": 100.0}
    # Each figure says it covers only the moments since the server was added.
    assert all(text.endswith(" s") for text in body["over"].values()), body["over"]
    assert body["cert_expiry"] == 1900000000.0


def test_uptime_24h_appears_in_the_server_list(chart_client):
    make_server("cbs")
    assert refresh_uptime() == 1
    headers = login(chart_client, make_user("it_staff"))
    item = chart_client.get("/api/servers", headers=headers).get_json()["items"][0]
    assert item["uptime_24h"] == 100.0


def test_chart_parameters_are_validated(chart_client):
    make_server("cbs")
    headers = login(chart_client, make_user("it_staff"))
    assert chart_client.get("/api/charts/swap?server_id=1", headers=headers).status_code == 404
    bad = chart_client.get("/api/charts/latency?server_id=1&range=1y", headers=headers)
    assert bad.status_code == 400 and "range" in bad.get_json()["details"]
    missing = chart_client.get("/api/charts/latency?server_id=99", headers=headers)
    assert missing.status_code == 404


def test_the_promql_box_is_for_api_access_only(chart_client):
    viewer = login(chart_client, make_user("it_staff"))
    developer = login(chart_client, make_user("developer"))
    url = "/api/promql?query=sum(probe_success)"
    assert chart_client.get(url, headers=viewer).status_code == 403
    body = chart_client.get(url, headers=developer).get_json()
    assert body["result"][0]["value"][1] == "1"
    bad = chart_client.get("/api/promql?query=sum(", headers=developer)
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("Prometheus:")
    ranged = chart_client.get("/api/promql?query=probe_success&start=1&end=0&step=1",
                              headers=developer)
    assert ranged.status_code == 400 and "end" in ranged.get_json()["details"]


def test_charts_say_so_when_prometheus_is_away(client):
    make_server("cbs")
    headers = login(client, make_user("it_staff"))
    response = client.get("/api/charts/latency?server_id=1", headers=headers)
    assert response.status_code == 503
    fleet = client.get("/api/charts/fleet?ids=1", headers=headers)
    assert fleet.status_code == 200 and "unreachable" in fleet.get_json()["error"]
    assert fleet.get_json()["servers"] == {"1": {"latency_ms": [], "up": [], "uptime_24h": None,
                                                 "uptime_over_s": None, "uptime_over": None}}


def test_every_range_averages_each_step(chart_client):
    make_server("cbs")
    headers = login(chart_client, make_user("it_staff"))
    for name in ("1h", "24h", "7d", "30d"):
        body = chart_client.get(f"/api/charts/status?server_id=1&range={name}", headers=headers).get_json()
        assert body["range"] == name and body["series"][0]["points"][-1][1] == 1.0


def test_the_fleet_endpoint_gives_every_tile_its_sparkline_and_uptime(chart_client):
    make_server("cbs")
    make_server("idle")
    assert refresh_uptime() == 1
    headers = login(chart_client, make_user("customer_engagement"))
    body = chart_client.get("/api/charts/fleet?ids=1,2,1", headers=headers).get_json()
    assert list(body["servers"]) == ["1", "2"]
    cbs = body["servers"]["1"]
    assert cbs["uptime_24h"] == 100.0 and cbs["latency_ms"][-1][1] == 250.0 and cbs["up"][-1][1] == 1.0
    assert body["end"] - body["start"] == 3600 and body["step"] == 60
    assert body["servers"]["2"] == {"latency_ms": [], "up": [], "uptime_24h": None,
                                    "uptime_over_s": None, "uptime_over": None}
    # cbs was created a moment ago: its figure covers seconds, not the day.
    assert cbs["uptime_over_s"] < 60 and cbs["uptime_over"].endswith(" s")


@pytest.mark.parametrize("ids", ["", "1,x", ",".join(str(n) for n in range(1, 102)), "1;drop"])
def test_the_fleet_endpoint_names_a_bad_ids_list(chart_client, ids):
    headers = login(chart_client, make_user("it_staff"))
    response = chart_client.get(f"/api/charts/fleet?ids={ids}", headers=headers)
    assert response.status_code == 400 and "ids" in response.get_json()["details"]


def test_the_query_page_runs_promql_for_api_access_only(chart_client):
    viewer = make_user("it_staff")
    chart_client.post("/login", data={"username": viewer.username, "password": PASSWORD})
    assert chart_client.get("/query?query=up").status_code == 403
    assert 'href="/query"' not in chart_client.get("/dashboard").get_data(as_text=True)
    chart_client.post("/logout", data={"csrf_token": chart_client.get_cookie("csrf_access_token").value})

    developer = make_user("developer")
    chart_client.post("/login", data={"username": developer.username, "password": PASSWORD})
    empty = chart_client.get("/query").get_data(as_text=True)
    assert 'href="/query"' in empty and "Examples" in empty
    instant = chart_client.get("/query?query=probe_success&range=instant").get_data(as_text=True)
    assert 'data-result-type="vector"' in instant and 'server="cbs"' in instant
    assert 'data-raw="1" title="Exact value: 1">1</td>' in instant
    assert 'id="promql-data"' not in instant
    ranged = chart_client.get("/query?query=probe_duration_seconds&range=1h").get_data(as_text=True)
    # Seconds, as the metric's name says, written as people read them; the exact value kept.
    assert 'data-result-type="matrix"' in ranged
    assert 'data-raw="0.25" title="Exact value: 0.25">250 ms</td>' in ranged
    assert '<script type="application/json" id="promql-data">' in ranged


def test_the_query_page_names_what_is_wrong(chart_client):
    developer = make_user("developer")
    chart_client.post("/login", data={"username": developer.username, "password": PASSWORD})
    bad = chart_client.get("/query?query=sum(")
    assert bad.status_code == 400
    assert 'data-testid="query-error">Prometheus: ' in bad.get_data(as_text=True)
    wrong_range = chart_client.get("/query?query=up&range=1y")
    assert wrong_range.status_code == 400 and "one of instant, 1h" in wrong_range.get_data(as_text=True)
    escaped = chart_client.get("/query?query=%3Cscript%3Ex%3C/script%3E").get_data(as_text=True)
    assert "<script>x</script>" not in escaped
