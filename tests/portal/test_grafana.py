"""Grafana: health in Admin, dashboard links by uid, annotations from the worker, and
access only through nginx's auth_request to the portal. Grafana is a local stand-in
speaking its HTTP API; nginx is Debian's."""

from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
import requests

from portal.extensions import db
from portal.grafana import dashboard_path
from portal.incidents.models import Incident
from portal.redis_client import get_redis
from portal.settings.service import update_settings
from provisioning.render import ROOT
from tests.conftest import fresh_app, make_config
from tests.factories import PASSWORD, login, make_server, make_user
from tests.portal.incidents.test_webhook import TOKEN, alert, payload
from tests.support.binaries import binary, free_port, running
from tests.support.live_server import serving
from tests.support.standins import GrafanaStandIn

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


@pytest.fixture
def grafana():
    with GrafanaStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def grafana_app(migrated, grafana):
    config = make_config(migrated, GRAFANA_URL=grafana.url, GRAFANA_TOKEN="glsa_test")
    with fresh_app(config) as app:
        yield app


def test_admin_shows_grafana_health(grafana_app):
    client = grafana_app.test_client()
    headers = login(client, make_user("admin"))
    components = client.get("/api/admin/summary", headers=headers).get_json()["components"]
    assert components["grafana"]["ok"] is True
    assert components["grafana"]["detail"]["version"] == "11.3.0"


def test_dashboards_are_looked_up_by_uid(grafana_app, grafana):
    assert dashboard_path("servermon-server") == "/grafana/d/servermon-server/servermon-server"
    assert dashboard_path("servermon-server") == "/grafana/d/servermon-server/servermon-server"
    lookups = [r for r in grafana.requests if r[1] == "/api/dashboards/uid/servermon-server"]
    assert len(lookups) == 1  # the second came from the cache
    assert lookups[0][2]["Authorization"] == "Bearer glsa_test"


def test_incidents_become_annotations_through_the_worker(grafana_app, grafana):
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        client = grafana_app.test_client()
        server = make_server("core-banking")
        client.post("/api/alertmanager/webhook", headers=TOKEN,
                    json=payload(alert(server, starts=T0)))
        dramatiq.get_broker().join("default", timeout=10_000)
        [(annotation_id, body)] = grafana.annotations.items()
        assert body["time"] == int((T0 + timedelta(seconds=0)).timestamp() * 1000)
        assert body["timeEnd"] is None and "core-banking" in body["tags"]
        client.post("/api/alertmanager/webhook", headers=TOKEN, json=payload(
            alert(server, "resolved", starts=T0, ends=T0 + timedelta(minutes=3))))
        dramatiq.get_broker().join("default", timeout=10_000)
        assert grafana.annotations[annotation_id]["timeEnd"] == \
            int((T0 + timedelta(minutes=3)).timestamp() * 1000)
        db.session.expire_all()
        assert db.session.scalar(db.select(Incident)).grafana_annotation_id == annotation_id
    finally:
        worker.stop()


def test_an_unreachable_grafana_makes_the_actor_fail_so_dramatiq_retries(migrated):
    config = make_config(migrated, GRAFANA_URL=f"http://127.0.0.1:{free_port()}")
    with fresh_app(config):
        incident = Incident(fingerprint="g", alert_started_at=T0, alertname="ServerDown",
                            severity="critical", started_at=T0, labels={}, server_name="x")
        db.session.add(incident)
        db.session.commit()
        with pytest.raises(Exception):
            dramatiq.get_broker().get_actor("push_annotation").fn(incident.id)


def test_grafana_is_reachable_only_through_the_portals_sign_in(grafana_app, grafana, tmp_path):
    nginx = binary("nginx")
    with serving(grafana_app) as portal:
        port = free_port()
        conf = (ROOT / "provisioning" / "nginx" / "servermon.conf").read_text()
        conf = conf.replace("portal:8000", portal).replace(
            "grafana:3000", grafana.url.removeprefix("http://")).replace(
            "listen 8080;", f"listen 127.0.0.1:{port};")
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
            "events {}\nhttp {\n"
            f"access_log off;\nclient_body_temp_path {tmp_path};\n"
            f"proxy_temp_path {tmp_path};\n{conf}\n}}\n")
        url = f"http://127.0.0.1:{port}"
        with running([nginx, "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                     f"{url}/healthz", tmp_path / "nginx.log"):
            anonymous = requests.get(f"{url}/grafana/d/x", allow_redirects=False, timeout=5)
            assert anonymous.status_code == 302
            assert anonymous.headers["Location"].endswith("/login?next=/grafana/d/x")
            user = make_user("flexipay_support")
            session = requests.Session()
            signed_in = session.post(f"{url}/api/auth/login", timeout=5, json={
                "username": user.username, "password": PASSWORD})
            assert signed_in.status_code == 200
            through = session.get(f"{url}/grafana/d/x", timeout=5)
            assert through.status_code == 200 and through.json() == {"user": user.username}
            assert requests.get(f"{url}/metrics", timeout=5).status_code == 404


def test_embedded_panels_use_the_dashboard_found_by_uid(grafana_app, grafana):
    client = grafana_app.test_client()
    client.post("/login", data={"username": make_user("it_staff").username, "password": PASSWORD})
    update_settings({"grafana_url": "https://portal.bank.example/grafana"}, None)
    server = make_server("cbs")
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    assert "https://portal.bank.example/grafana/d-solo/servermon-server/servermon-server?orgId=1" in html
    assert "https://portal.bank.example/grafana/d/servermon-server/servermon-server?var-server_id" in html


def test_an_unreachable_grafana_is_asked_at_most_once_a_minute(migrated):
    with fresh_app(make_config(migrated, GRAFANA_URL="http://127.0.0.1:1")):
        assert dashboard_path("servermon-overview") is None
        key = "servermon:grafana:dashboard:servermon-overview"
        assert get_redis().get(key) == "" and 0 < get_redis().ttl(key) <= 60
        assert dashboard_path("servermon-overview") is None  # answered from the cache
