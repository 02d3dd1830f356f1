"""The downtime report: figures, maintenance exclusion, formats, and formula neutralising."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
from openpyxl import load_workbook

from portal.extensions import db
from portal.incidents.models import Incident, MaintenanceWindow
from tests.factories import PASSWORD, login, make_server, make_user
from tests.support.live_server import serving

DAY = datetime(2026, 11, 10, tzinfo=UTC)
PERIOD = "from=2026-11-10T00:00:00%2B00:00&to=2026-11-11T00:00:00%2B00:00"


def outage(server, start_min, end_min, reason="connection refused", name="ServerDown"):
    start = DAY + timedelta(minutes=start_min)
    incident = Incident(fingerprint=f"{server.id}-{start_min}", alert_started_at=start,
                        alertname=name, severity="critical", server_id=server.id,
                        server_name=server.name, started_at=start,
                        ended_at=DAY + timedelta(minutes=end_min) if end_min else None,
                        reason=reason, labels={})
    db.session.add(incident)
    db.session.commit()
    return incident


def access_token(address: str, user) -> str:
    response = requests.post(f"http://{address}/api/auth/login", timeout=10,
                             json={"username": user.username, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture
def server():
    server = make_server("core-banking")
    server.created_at = DAY - timedelta(days=30)
    db.session.commit()
    return server


@pytest.fixture
def headers(client):
    return login(client, make_user("flexipay_support"))


def report(client, headers, query=""):
    response = client.get(f"/api/reports/downtime?{PERIOD}{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_availability_incidents_longest_mttr_and_mtbf(client, headers, server):
    outage(server, 60, 70)           # 10 min
    outage(server, 600, 630)         # 30 min
    outage(server, 900, 905, name="ServerSlow")  # not downtime
    body = report(client, headers)
    [row] = body["servers"]
    assert row["incidents"] == 2
    assert row["downtime_s"] == 40 * 60
    assert row["longest_downtime_s"] == 30 * 60
    assert row["mttr_s"] == 20 * 60
    assert row["mtbf_s"] == (86400 - 2400) / 2
    assert row["availability_pct"] == pytest.approx(100 * (86400 - 2400) / 86400, abs=1e-4)
    assert [i["reason"] for i in row["incident_list"]] == ["connection refused"] * 2
    assert body["period"]["timezone"] == "Africa/Kampala"
    assert body["period"]["from"] == "2026-11-10T03:00:00+03:00"


def test_overlapping_incidents_of_one_server_count_as_one_outage(client, headers, server):
    """Older versions could record one outage twice (ended ones can still overlap)."""
    outage(server, 60, 120)    # 60 min
    outage(server, 90, 150)    # adds 30 min to the same outage
    outage(server, 100, 110)   # inside both: adds nothing
    outage(server, 600, 610)   # a second outage, 10 min
    [row] = report(client, headers)["servers"]
    assert row["downtime_s"] == 100 * 60
    assert row["incidents"] == 2 and row["longest_downtime_s"] == 90 * 60
    assert row["mttr_s"] == 50 * 60 and row["mtbf_s"] == (86400 - 6000) / 2
    assert 0 <= row["availability_pct"] <= 100
    assert [line["downtime_s"] for line in row["incident_list"]] == [3600, 1800, 0, 600]


def test_a_day_covered_by_overlapping_incidents_is_0_percent_not_negative(client, headers, server):
    for minutes in range(0, 1440, 60):
        outage(server, minutes, minutes + 600)
    [row] = report(client, headers)["servers"]
    assert row["availability_pct"] == 0 and row["downtime_s"] == 86400
    # Never up: no time between failures, so no MTBF (not "0 s").
    assert row["incidents"] == 1 and row["mtbf_s"] is None


def test_downtime_is_clipped_to_the_period(client, headers, server):
    outage(server, -30, 30)           # half before the period
    outage(server, 24 * 60 - 10, 24 * 60 + 50)
    [row] = report(client, headers)["servers"]
    assert row["downtime_s"] == 40 * 60 and row["incidents"] == 2


def test_maintenance_is_left_out_of_availability_but_shown(client, headers, server):
    db.session.add(MaintenanceWindow(server_id=server.id, starts_at=DAY + timedelta(hours=2),
                                     ends_at=DAY + timedelta(hours=4), reason="patching"))
    db.session.commit()
    outage(server, 150, 170)   # entirely inside the window
    outage(server, 230, 250)   # 10 min inside, 10 min after
    [row] = report(client, headers)["servers"]
    assert row["maintenance_s"] == 2 * 3600
    assert row["downtime_s"] == 10 * 60
    assert row["downtime_in_maintenance_s"] == 30 * 60
    assert row["incidents"] == 1
    expected = 86400 - 7200
    assert row["availability_pct"] == pytest.approx(100 * (expected - 600) / expected, abs=1e-4)
    assert len(row["incident_list"]) == 2  # still visible in the history


def test_a_label_window_applies_to_servers_with_the_label(client, headers):
    tagged = make_server("tagged", environment="staging")
    tagged.created_at = DAY - timedelta(days=1)
    db.session.add(MaintenanceWindow(label_key="environment", label_value="staging",
                                     starts_at=DAY, ends_at=DAY + timedelta(hours=1), reason="x"))
    db.session.commit()
    outage(tagged, 0, 30)
    [row] = report(client, headers, "&label=environment=staging")["servers"]
    assert row["downtime_s"] == 0 and row["downtime_in_maintenance_s"] == 1800


def test_a_server_added_mid_period_is_measured_from_its_creation(client, headers):
    late = make_server("late")
    late.created_at = DAY + timedelta(hours=12)
    db.session.commit()
    outage(late, 12 * 60 + 5, 12 * 60 + 17)
    [row] = report(client, headers)["servers"]
    assert row["availability_pct"] == pytest.approx(100 * (43200 - 720) / 43200, abs=1e-4)


def test_filters_by_server_and_label(client, headers, server):
    other = make_server("other", labels={"team": "cards"})
    assert [r["server"] for r in report(client, headers, f"&server_id={server.id}")["servers"]] \
        == ["core-banking"]
    assert [r["server_id"] for r in report(client, headers, "&label=team=cards")["servers"]] \
        == [other.id]


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-11-10T00:00:00", "from"),
    ("from=2026-11-10T00:00:00%2B00:00", "to"),
    ("from=2026-11-10T00:00:00%2B00:00&to=2026-11-09T00:00:00%2B00:00", "to"),
    ("from=2024-01-01T00:00:00%2B00:00&to=2026-01-01T00:00:00%2B00:00", "to"),
    ("preset=yesterdayish", "preset"),
    ("format=pdf", "format"),
    ("label=nolabel", "label"),
])
def test_bad_parameters_name_the_field(client, headers, query, field):
    response = client.get(f"/api/reports/downtime?{query}", headers=headers)
    assert response.status_code == 400
    assert field in response.get_json()["details"], response.get_json()


def test_presets_work(client, headers, server):
    for preset in ("today", "last_7_days", "last_30_days", "last_month"):
        response = client.get(f"/api/reports/downtime?preset={preset}", headers=headers)
        assert response.status_code == 200, preset


def test_csv_summary_and_incidents_are_streamed_and_neutralised(client, headers):
    evil = make_server("=HYPERLINK(\"http://x\")", target="https://evil.bank.example/")
    evil.created_at = DAY - timedelta(days=1)
    db.session.commit()
    outage(evil, 10, 20, reason="@SUM(1+1)")
    response = client.get(f"/api/reports/downtime?{PERIOD}&format=csv", headers=headers)
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0]["server"] == "'=HYPERLINK(\"http://x\")"
    assert rows[0]["downtime_s"] == "600.0"
    incidents = client.get(f"/api/reports/downtime?{PERIOD}&format=csv&table=incidents",
                           headers=headers)
    [line] = list(csv.DictReader(io.StringIO(incidents.get_data(as_text=True))))
    assert line["reason"] == "'@SUM(1+1)"
    assert line["started_at"] == "2026-11-10T03:10:00+03:00"


def test_xlsx_has_typed_cells_text_formulas_and_a_usable_layout(client, headers):
    evil = make_server("=1+1", target="https://evil.bank.example/")
    evil.created_at = DAY - timedelta(days=1)
    db.session.commit()
    outage(evil, 10, 20, reason="-2+3")
    response = client.get(f"/api/reports/downtime?{PERIOD}&format=xlsx", headers=headers)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["Summary", "Incidents"]
    summary, incidents = workbook["Summary"], workbook["Incidents"]
    assert summary["A1"].font.b is True and summary.freeze_panes == "A2"
    assert summary.auto_filter.ref == "A1:M2"
    assert summary["B2"].value == "=1+1" and summary["B2"].data_type == "s"
    assert summary["H2"].value == timedelta(minutes=10)
    assert incidents["D1"].value == "started_at (Africa/Kampala)"
    assert incidents["D2"].value == datetime(2026, 11, 10, 3, 10)
    assert incidents["H2"].value == "-2+3" and incidents["H2"].data_type == "s"
    assert summary.column_dimensions["B"].width == 28


def test_reports_need_the_reports_permission(client, server):
    headers = login(client, make_user("customer_engagement"))
    assert client.get("/api/reports/downtime", headers=headers).status_code == 200


def test_the_csv_streams_over_a_real_server(app):
    """Served for real the rows stream after the view has returned and its session closed
    (the Logs page's CSV failed so; this one must not)."""
    user = make_user("flexipay_support")
    server = make_server("core-banking")
    server.created_at = DAY - timedelta(days=30)
    db.session.commit()
    for start in range(0, 600, 20):
        outage(server, start, start + 5)
    with serving(app) as address:
        headers = {"Authorization": f"Bearer {access_token(address, user)}"}
        for table in ("summary", "incidents"):
            response = requests.get(f"http://{address}/api/reports/downtime?{PERIOD}&format=csv"
                                    f"&table={table}", headers=headers, timeout=30)
            assert response.status_code == 200, response.text[:500]
            lines = list(csv.DictReader(io.StringIO(response.text)))
            assert len(lines) == (1 if table == "summary" else 30)
