"""GET /api/audit?format=csv: every matching row, oldest first, text that cannot run as a
formula, streamed for real."""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import requests

from portal.audit.service import Target
from tests.factories import PASSWORD, login, make_user
from tests.portal.audit.dated import add_event
from tests.support.live_server import serving

T0 = datetime(2026, 11, 1, 21, 30, tzinfo=UTC)  # 2026-11-02 00:30 in Kampala (UTC+3)


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_download_has_every_column_times_in_the_zone_and_a_dated_name(client):
    admin = make_user("admin", username="auditor")
    event = add_event("test.updated", at=T0, target=Target("server", 12, "core-banking"),
                      actor=admin, before={"interval_s": 30}, after={"interval_s": 60})
    response = client.get("/api/audit?format=csv&action=test.", headers=login(client, admin))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    today = datetime.now(ZoneInfo("Africa/Kampala")).strftime("%Y%m%d")  # the configured zone
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="servermon-audit-{today}.csv"')
    lines = table(response.get_data(as_text=True))
    assert lines[0] == ["id", "at", "actor_kind", "actor_id", "actor_name", "token_id", "address",
                        "user_agent", "action", "target_kind", "target_id", "target_name",
                        "before", "after", "detail", "prev_hash", "hash"]
    assert lines[1] == [str(event.id), "2026-11-02T00:30:00+03:00", "user", str(admin.id),
                        "auditor", "", "", "", "test.updated", "server", "12", "core-banking",
                        '{"interval_s": 30}', '{"interval_s": 60}', "", event.prev_hash, event.hash]
    assert len(lines) == 2


def test_typed_text_that_would_run_as_a_formula_is_neutralised(client):
    add_event("test.evil", actor_name="=HYPERLINK(\"http://evil.example\",\"click\")",
              target=Target("server", "-1", "@SUM(A1:A9)"),
              after={"name": "+cmd"}, detail={"why": "\tx"})
    add_event("test.evil", actor_name="\rreturn", target=Target("server", 2, "-2+3"))
    response = client.get("/api/audit?format=csv&action=test.evil",
                          headers=login(client, make_user("admin")))
    first, second = table(response.get_data(as_text=True))[1:]
    assert first[4] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert (first[10], first[11]) == ("'-1", "'@SUM(A1:A9)")
    assert first[13] == '{"name": "+cmd"}'  # JSON starts with a brace: nothing to run
    assert second[4] == "'\rreturn" and second[11] == "'-2+3"
    for line in (first, second):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in line)


def test_every_matching_row_is_in_the_download_not_one_page(client, monkeypatch):
    monkeypatch.setattr("portal.audit.queries.BATCH", 7)  # several batches from a few rows
    made = [add_event("test.bulk").id for _ in range(60)]
    add_event("test.other")
    response = client.get("/api/audit?format=csv&action=test.bulk&per_page=10",
                          headers=login(client, make_user("admin")))
    lines = table(response.get_data(as_text=True))
    assert [int(line[0]) for line in lines[1:]] == made  # oldest first, each once


def test_the_download_streams_over_a_real_server(app):
    """Served for real, the rows stream after the view has returned and its session has
    committed: a query made in the view would fail on the first row ("identity map is no
    longer valid") with SQLAlchemy 2.1."""
    user = make_user("ebanking_support")
    made = [add_event("test.live", target=Target("server", n, f"srv-{n}")).id for n in range(30)]
    with serving(app) as address:
        session = requests.Session()
        signed_in = session.post(f"http://{address}/api/auth/login",
                                 json={"username": user.username, "password": PASSWORD})
        assert signed_in.status_code == 200
        response = session.get(f"http://{address}/api/audit",
                               params={"format": "csv", "action": "test.live"})
        assert response.status_code == 200, response.text[:500]
    lines = table(response.text)
    assert [int(line[0]) for line in lines[1:]] == made
