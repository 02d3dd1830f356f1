"""The Reports page: periods in the configured time zone, the table, download links."""

from datetime import timedelta

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from tests.factories import make_server
from tests.support.pages import sign_in


def test_it_shows_downtime_per_server_and_links_the_downloads(client):
    server = make_server("core-banking", environment="production")
    server.created_at = utcnow() - timedelta(days=30)
    start = utcnow() - timedelta(hours=3)
    db.session.add(Incident(fingerprint="f", alert_started_at=start, alertname="ServerDown",
                            severity="critical", server_id=server.id, server_name=server.name,
                            started_at=start, ended_at=start + timedelta(minutes=12), labels={}))
    db.session.commit()
    sign_in(client, "flexipay_support")
    response = client.get("/reports?preset=last_7_days")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Africa/Kampala" in html
    assert "core-banking" in html and "12 min 0 s" in html
    assert "/api/reports/downtime?from=" in html and "format=xlsx" in html
    assert "table=incidents" in html


def test_custom_dates_are_validated_by_field(client):
    sign_in(client, "it_staff")
    response = client.get("/reports?preset=custom&from=2026-11-10&to=2026-11-01")
    assert response.status_code == 400
    assert 'data-field-error="to"' in response.get_data(as_text=True)
    ok = client.get("/reports?preset=custom&from=2026-11-01&to=2026-11-10")
    assert ok.status_code == 200
    assert "2026-11-01 00:00 \u2013 2026-11-11 00:00" in ok.get_data(as_text=True)


def test_a_bad_label_filter_is_named(client):
    sign_in(client, "it_staff")
    response = client.get("/reports?label=oops")
    assert response.status_code == 400
    assert 'data-field-error="label"' in response.get_data(as_text=True)


def test_the_download_links_work_for_a_browser_session(client):
    make_server("core-banking")
    sign_in(client, "customer_engagement")
    html = client.get("/reports").get_data(as_text=True)
    link = html.split('data-testid="download-xlsx"')[0].rsplit('href="', 1)[1].split('"')[0]
    response = client.get(link.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
