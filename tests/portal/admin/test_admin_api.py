"""Admin summary, system config bundle, health and the portal's own metrics."""

from datetime import timedelta

from portal import create_app
from portal.dbtypes import utcnow
from portal.extensions import db
from tests.conftest import make_config
from tests.factories import login, make_server, make_user


def test_summary_lists_users_with_online_state_counts_and_components(client):
    viewer = make_user("it_staff")
    away = make_user("flexipay_support")
    away.last_seen_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    make_server()
    body = client.get("/api/admin/summary", headers=login(client, viewer)).get_json()
    online = {u["username"]: u["online"] for u in body["users"]}
    assert online[viewer.username] is True and online[away.username] is False
    assert body["counts"]["servers"]["by_status"]["unknown"] == 1
    assert body["counts"]["online_users"] == 1
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["redis"]["ok"] is True
    assert body["components"]["prometheus"]["ok"] is False  # nothing listens on port 1 here
    assert all("password_hash" not in u for u in body["users"])


def test_system_config_returns_version_commit_and_config_as_code(client):
    body = client.get("/api/system/config", headers=login(client, make_user("developer"))).get_json()
    assert body["version"] == "0.1.0"
    assert len(body["commit"]) in (40, 7) or body["commit"] == "unknown"
    for key in ("alert_rules", "alertmanager", "prometheus", "dashboards"):
        assert isinstance(body[key], dict)


def test_healthz_reports_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["redis"]["ok"] is True


def test_healthz_is_503_when_redis_is_unreachable(migrated):
    app = create_app(make_config(migrated, REDIS_URL="redis://127.0.0.1:1/0"))
    with app.app_context():
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"]["ok"] is False


def test_metrics_expose_request_counts(client):
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'servermon_portal_http_requests_total{endpoint="/healthz",method="GET",status="200"}' in text


def test_security_headers_are_set(client):
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_api_paths_get_json_404(client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]


def test_a_wrong_method_gets_json_405(client):
    response = client.put("/api/auth/login", json={})
    assert response.status_code == 405 and "error" in response.get_json()


def test_metrics_list_every_enabled_server_for_the_target_missing_alert(client):
    server = make_server("pay-api", kind="tcp", target="pay.bank.example:443")
    make_server("retired", enabled=False)
    text = client.get("/metrics").get_data(as_text=True)
    assert (f'servermon_server_registered{{kind="tcp",server="pay-api",server_id="{server.id}"}} 1.0'
            in text)
    assert 'server="retired"' not in text
