"""A server's resources through the real Prometheus scraping the real node_exporter (this
machine's CPU, memory, disks and network) as the servermon-nodes job labels it: the server
page's gauges, every resource chart, and the dense dashboard's worst resource."""

import re
from html import unescape

import pytest

from portal.charts import queries, resources
from portal.extensions import db
from tests.conftest import fresh_app, make_config
from tests.factories import login, make_server, make_user
from tests.support.pages import sign_in
from tests.support.prometheus import scraping_nodes

SERVER_ID = "1"  # the first server of a fresh app: the scrape target's label names it


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory):
    """node_exporter's address and Prometheus scraping it, labelled as server 1 ("db-1")."""
    with scraping_nodes(tmp_path_factory.mktemp("nodes"), SERVER_ID, "db-1") as found:
        yield found


@pytest.fixture
def app_on_nodes(migrated, nodes):
    address, url = nodes
    with fresh_app(make_config(migrated, PROMETHEUS_URL=url)) as app:
        yield app, address


def with_resources(server, endpoint: str, exporter: str = "node"):
    """The server's resources endpoint, as the edit form stores it."""
    server.resources_endpoint = endpoint
    server.resources_exporter = exporter
    db.session.commit()
    return server


def _figure(html: str, name: str, detail: str | None = None) -> float:
    attribute = f'data-resource="{name}"' + (f' data-resource-detail="{detail}"' if detail else "")
    cell = html.split(attribute, 1)[1].split("</div>", 1)[0]
    return float(re.search(r"data-resource-value>([\d.]+)", cell).group(1))


def test_the_server_page_shows_this_machines_real_resources(app_on_nodes):
    app, address = app_on_nodes
    client = app.test_client()
    sign_in(client, "customer_engagement")
    server = with_resources(make_server("db-1"), address)
    assert str(server.id) == SERVER_ID
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    section = html.split('data-testid="resources"', 1)[1].split("</section>", 1)[0]
    assert address in section and "resources-error" not in section
    assert 0 < _figure(section, "cpu") <= 100
    assert 0 < _figure(section, "memory") < 100
    assert 0 < _figure(section, "disk", "/") < 100
    assert _figure(section, "load") > 0
    assert 'data-resource="network" data-resource-detail="received"' in section
    for chart in resources.CHARTS:
        assert f'data-resource-chart="{chart}"' in section
    # Pseudo filesystems are left out.
    assert 'data-resource-detail="/dev/shm"' not in section
    assert 'data-resource-detail="/sys/fs/cgroup"' not in section


def test_every_resource_chart_has_series_for_a_role_without_api_access(app_on_nodes):
    app, address = app_on_nodes
    client = app.test_client()
    server = with_resources(make_server("db-1"), address)
    headers = login(client, make_user("flexipay_support"))
    assert client.get("/api/promql?query=up", headers=headers).status_code == 403
    for chart in resources.CHARTS:
        body = client.get(f"/api/charts/{chart}?server_id={server.id}&range=1h",
                          headers=headers).get_json()
        values = [value for item in body["series"] for _, value in item["points"]
                  if value is not None]
        assert values, chart
    disk = client.get(f"/api/charts/disk?server_id={server.id}&range=1h", headers=headers)
    mounts = {item["labels"].get("mountpoint") for item in disk.get_json()["series"]}
    assert "/" in mounts and "/dev/shm" not in mounts
    network = client.get(f"/api/charts/network?server_id={server.id}&range=24h", headers=headers)
    assert {item["labels"]["direction"] for item in network.get_json()["series"]} == {
        "received", "sent"}
    load = client.get(f"/api/charts/load?server_id={server.id}&range=7d", headers=headers)
    assert {item["labels"]["load"] for item in load.get_json()["series"]} == {
        "1 min", "5 min", "15 min"}


def test_the_dense_dashboard_shows_each_servers_worst_resource(app_on_nodes):
    app, address = app_on_nodes
    client = app.test_client()
    sign_in(client, "it_staff")
    server = with_resources(make_server("db-1"), address)
    plain = make_server("web-1")  # no resources endpoint: nothing shown
    figures = resources.current(server.id)
    candidates = [figures["cpu"], figures["memory"], *figures["disks"]]
    html = client.get("/dashboard?view=fleet").get_data(as_text=True)
    cell = html.split(f'data-fleet-id="{server.id}"', 1)[1].split("</li>", 1)[0]
    shown = unescape(re.search(r"data-fleet-resource>([^<]+)<", cell).group(1))
    name, value = shown.rsplit(" ", 1)
    worst = max(candidates, key=lambda figure: figure.value)
    # Read a moment apart, the figures may move a little; the resource is the same one
    # unless two are within a few points of each other.
    assert abs(float(value.rstrip("%")) - worst.value) < 5
    close = [figure.short.rsplit(" ", 1)[0] for figure in candidates
             if worst.value - figure.value < 5]
    assert name in close
    assert 'fleet-extras-shown' in html
    other = html.split(f'data-fleet-id="{plain.id}"', 1)[1].split("</li>", 1)[0]
    assert "data-fleet-resource" not in other
    tiles = client.get("/dashboard?view=tiles").get_data(as_text=True)
    tile = tiles.split(f'data-server-id="{server.id}"', 1)[1].split("</article>", 1)[0]
    assert 'data-field="worst-resource"' in tile and "Worst resource" in tile


def test_resources_say_so_when_prometheus_is_away(client):
    sign_in(client, "it_staff")
    server = with_resources(make_server("db-1"), "10.0.0.5:9100")
    response = client.get(f"/servers/{server.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-testid="resources-error"' in html and "unreachable" in html
    assert 'data-testid="resource-gauges"' not in html
    dashboard = client.get("/dashboard?view=fleet")
    assert dashboard.status_code == 200
    assert "data-fleet-resource" not in dashboard.get_data(as_text=True)


def test_a_server_not_scraped_yet_says_it_has_no_figures(app_on_nodes):
    app, _address = app_on_nodes
    client = app.test_client()
    sign_in(client)
    make_server("db-1")  # the scraped one, without its endpoint yet
    other = with_resources(make_server("db-2"), "10.0.0.6:9100")
    html = client.get(f"/servers/{other.id}").get_data(as_text=True)
    assert 'data-testid="resources-none"' in html and "10.0.0.6:9100" in html
    assert "No resource figures yet" in html


def test_a_server_without_a_resources_endpoint_has_no_resources_section(client):
    sign_in(client)
    server = make_server("web-1")
    assert 'data-testid="resources"' not in client.get(f"/servers/{server.id}").get_data(as_text=True)


def test_the_resource_charts_are_fixed_promql_of_one_server():
    """The browser names a chart and a server; the portal's PromQL is these strings."""
    assert set(resources.CHARTS) <= set(queries.CHARTS)
    assert queries.CHARTS["cpu"].format(id=7, window="120s") == (
        '100 * (1 - avg by (server_id) (rate(node_cpu_seconds_total{job="servermon-nodes",'
        'server_id="7",mode="idle"}[120s]))) or 100 * (1 - avg by (server_id) ('
        'rate(windows_cpu_time_total{job="servermon-nodes",server_id="7",mode="idle"}[120s])))')
    memory = queries.CHARTS["memory"].format(id=7, window="120s")
    assert memory.startswith(
        "100 * (1 - max by (server_id) (avg_over_time(node_memory_MemAvailable_bytes"
        '{job="servermon-nodes",server_id="7"}[120s])) / max by (server_id) '
        '(node_memory_MemTotal_bytes{job="servermon-nodes",server_id="7"}))'
        " or 100 * (1 - max by (server_id) (avg_over_time(windows_os_physical_memory_free_bytes")
    for name in resources.CHARTS:
        expr = queries.CHARTS[name].format(id=7, window="120s")
        assert 'server_id="7"' in expr and "{id}" not in expr and "{{" not in expr, name
        # Every selector is the nodes job's and this server's: no other series is read.
        selectors = re.findall(r"\{([^}]*)\}", expr)
        assert selectors and all(s.startswith('job="servermon-nodes",server_id="7"')
                                 for s in selectors), name
    assert 'fstype!~"tmpfs|' in queries.CHARTS["disk"]
    assert 'device!~"lo|veth.*' in queries.CHARTS["network"]
    # The dashboard's one query covers every server the job scrapes, one series each.
    assert resources.WORST.startswith("topk by (server_id) (1, ")
    assert "server_id=" not in resources.WORST


def test_resource_charts_rate_over_at_least_two_minutes():
    """A 1 h chart's 10 s step would leave a rate one scrape or none at the usual 30 s."""
    assert queries.MIN_WINDOWS_S["cpu"] == 120
    assert queries.MIN_WINDOWS_S.get("latency") is None


def test_figures_are_graded_and_written_for_cells():
    disk = resources.Figure("disk", "/var", 93.2)
    assert (disk.grade, disk.text, disk.short) == ("danger", "disk /var 93 %", "/var 93%")
    assert resources.Figure("memory", None, 85).grade == "warn"
    assert resources.Figure("memory", None, 85).short == "mem 85%"
    assert resources.Figure("cpu", None, 12.4).grade == "ok"
    assert resources.Figure("load", None, 1.5).grade == "warn"
    assert resources.Figure("network", "sent", 1e9).grade == "ok"
