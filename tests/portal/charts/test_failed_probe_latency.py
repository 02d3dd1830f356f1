"""No latency for a failed probe: a timeout's 10 s is how long the probe took to give up,
not how fast the server answers, so neither the server page's chart nor a tile's
sparkline draws it (through the real Prometheus)."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_app, make_config
from tests.factories import login, make_server, make_user
from tests.support.prometheus import scraping_fixed_page

UP_AND_TIMED_OUT = """# TYPE probe_success gauge
probe_success{server_id="1",server="fast",kind="http"} 1
probe_success{server_id="2",server="timing-out",kind="http"} 0
# TYPE probe_duration_seconds gauge
probe_duration_seconds{server_id="1",server="fast",kind="http"} 0.25
probe_duration_seconds{server_id="2",server="timing-out",kind="http"} 10
"""


@pytest.fixture(scope="module")
def failing_prometheus(tmp_path_factory):
    with scraping_fixed_page(UP_AND_TIMED_OUT, tmp_path_factory.mktemp("prometheus-failing")) as url:
        yield url


@pytest.fixture
def chart_client(migrated, failing_prometheus):
    with fresh_app(make_config(migrated, PROMETHEUS_URL=failing_prometheus)) as app:
        yield app.test_client()


@pytest.mark.parametrize("window", ["1h", "24h", "7d", "30d"])
def test_the_latency_chart_leaves_failed_probes_out(chart_client, window):
    fast, timing_out = make_server("fast"), make_server("timing-out")
    assert (fast.id, timing_out.id) == (1, 2)
    headers = login(chart_client, make_user("it_staff"))
    good = chart_client.get(f"/api/charts/latency?server_id=1&range={window}", headers=headers).get_json()
    assert good["series"][0]["points"][-1][1] == 0.25
    bad = chart_client.get(f"/api/charts/latency?server_id=2&range={window}", headers=headers).get_json()
    assert all(value is None for series in bad["series"] for _, value in series["points"])
    status = chart_client.get(f"/api/charts/status?server_id=2&range={window}", headers=headers).get_json()
    assert status["series"][0]["points"][-1][1] == 0.0  # the failure itself is charted


def test_a_tile_sparkline_has_no_latency_for_a_server_whose_probes_fail(chart_client):
    make_server("fast")
    make_server("timing-out")
    headers = login(chart_client, make_user("it_staff"))
    body = chart_client.get("/api/charts/fleet?ids=1,2", headers=headers).get_json()
    assert body["servers"]["1"]["latency_ms"][-1][1] == 250.0
    assert all(value is None for _, value in body["servers"]["2"]["latency_ms"])
    assert body["servers"]["2"]["up"][-1][1] == 0.0
