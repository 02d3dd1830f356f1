"""GET /api/servers/<id>/pings: a job's last runs, paged like the log, for logs.view."""

from __future__ import annotations

from datetime import datetime

import pytest

from portal.servers.ping_keys import ping_key
from tests.factories import login, make_server, make_user


@pytest.fixture
def job(app):
    return make_server("eod-batch", kind="heartbeat", heartbeat_period_s=86400)


def test_the_newest_pings_come_first_with_what_the_job_sent(client, job):
    key = ping_key(job)
    client.get(f"/ping/{key}/start", headers={"User-Agent": "curl/8.5"})
    client.post(f"/ping/{key}/2", data=b"ORA-01555: snapshot too old\n")
    headers = login(client, make_user("it_staff"))
    body = client.get(f"/api/servers/{job.id}/pings", headers=headers).get_json()
    assert (body["total"], body["page"], body["pages"], body["per_page"]) == (2, 1, 1, 50)
    end, start = body["items"]
    assert end["kind"] == "fail" and end["exit_code"] == 2 and end["method"] == "POST"
    assert end["body"] == "ORA-01555: snapshot too old\n" and end["source"] == "127.0.0.1"
    assert 0 <= end["duration_s"] < 5
    assert start == {"at": start["at"], "kind": "start", "exit_code": None, "duration_s": None,
                     "source": "127.0.0.1", "method": "GET", "user_agent": "curl/8.5",
                     "body": None}
    assert datetime.fromisoformat(start["at"]).utcoffset() is not None
    assert datetime.fromisoformat(end["at"]) >= datetime.fromisoformat(start["at"])


def test_pings_are_paged(client, job):
    for _ in range(3):
        client.get(f"/ping/{ping_key(job)}")
    headers = login(client, make_user("developer"))
    body = client.get(f"/api/servers/{job.id}/pings?per_page=2&page=2", headers=headers).get_json()
    assert (len(body["items"]), body["total"], body["pages"]) == (1, 3, 2)
    bad = client.get(f"/api/servers/{job.id}/pings?per_page=0", headers=headers)
    assert bad.status_code == 400 and "per_page" in bad.get_json()["details"]


def test_pings_need_logs_view(client, job):
    viewer = login(client, make_user("customer_engagement"))
    response = client.get(f"/api/servers/{job.id}/pings", headers=viewer)
    assert response.status_code == 403
    assert response.get_json()["details"] == {"permission": "logs.view"}


def test_a_probed_or_missing_server_has_no_pings(client, job):
    headers = login(client, make_user("it_staff"))
    web = make_server("web")
    response = client.get(f"/api/servers/{web.id}/pings", headers=headers)
    assert response.status_code == 404 and response.get_json()["details"] == {
        "id": "not a heartbeat"}
    assert client.get("/api/servers/999/pings", headers=headers).status_code == 404
