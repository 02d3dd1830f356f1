"""A nightly job stops pinging: the exporter calls it late at its deadline, Prometheus and
Alertmanager open the incident, people are paged, the next ping closes it, the report
counts it; a run that fails opens one at once. Real exporter, Prometheus, Alertmanager,
portal (gunicorn) and worker; an SMTP sink and a stand-in for Twilio's REST API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
import requests
from sqlalchemy import select

from portal.extensions import db
from portal.servers.models import ServerEvent
from portal.servers.ping_keys import ping_key
from portal.servers.service import announce_change
from portal.settings.service import update_settings
from tests.conftest import TEST_REDIS_URL, _empty_tables
from tests.e2e.test_outage_to_phone import base_env, wait_for
from tests.factories import PASSWORD, make_server, make_user
from tests.support.stack import SHORT, Stack
from wire import LATEST_HASH

pytestmark = pytest.mark.e2e
PERIOD_S, GRACE_S = 60, 60


def test_a_job_that_stops_pinging_is_an_outage_from_its_deadline(migrated, tmp_path):
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with Stack(base_env(migrated), tmp_path, SHORT) as stack, stack.app.app_context():
        _empty_tables()
        # Five changes in a few minutes (first result, late, back, failed, back) would make
        # the job flapping, whose incidents wait to settle (portal/incidents/flapping.py).
        update_settings({"flap_changes": 10}, None)
        on_call = make_user("it_staff", phone="+256700000002", notify_sms=True)
        job = make_server("eod-batch", kind="heartbeat", heartbeat_period_s=PERIOD_S,
                          heartbeat_grace_s=GRACE_S, interval_s=30, timeout_s=10)
        # Its schedule began nearly two minutes ago and it has never pinged: a period and
        # a grace after that, in a few seconds, it is late.
        job.heartbeat_since = datetime.now(UTC) - timedelta(seconds=PERIOD_S + GRACE_S - 8)
        db.session.commit()
        deadline = job.heartbeat_since + timedelta(seconds=PERIOD_S + GRACE_S)
        announce_change(job.id, "updated")
        url = f"{stack.portal_url}/ping/{ping_key(job)}"
        stack.wait_exporter()
        api = requests.Session()
        api.headers["Authorization"] = "Bearer " + requests.post(
            f"{stack.portal_url}/api/auth/login", timeout=10,
            json={"username": on_call.username, "password": PASSWORD}).json()["access_token"]

        def get(path: str) -> dict:
            return api.get(f"{stack.portal_url}{path}", timeout=5).json()

        def open_incidents() -> list[dict]:
            return get(f"/api/incidents?state=open&server_id={job.id}")["items"]

        # Late: dated from the deadline, not from when it was noticed (the exporter waits
        # until it has surely heard every ping, exporter/heartbeats.py).
        [late] = wait_for(open_incidents, 60, "the late job's incident", stack)
        assert abs(datetime.fromisoformat(late["started_at"]) - deadline) < timedelta(seconds=1)
        assert late["alertname"] == "ServerDown" and late["reason"] == "late: no ping yet"
        [down] = [event for event in get(f"/api/servers/{job.id}/logs")["items"]
                  if event["status"] == "down"]
        assert datetime.fromisoformat(down["at"]) == datetime.fromisoformat(late["started_at"])
        wait_for(lambda: stack.mail and stack.twilio.sent, 30, "e-mail and SMS", stack)
        assert stack.mail[0]["Subject"] == "[servermon] DOWN: eod-batch - late: no ping yet"

        # The job runs: start, then success. The success ends the outage at its time.
        assert requests.get(f"{url}/start", timeout=5).text == "OK\n"
        pinged_at = datetime.now(UTC)
        assert requests.post(url, data="reconciled 120034 rows", timeout=5).status_code == 200
        wait_for(lambda: get(f"/api/servers/{job.id}")["status"] == "up", 10, "up", stack)
        closed = wait_for(lambda: get(f"/api/incidents/{late['id']}")["state"] == "resolved"
                          and get(f"/api/incidents/{late['id']}"), 30, "resolution", stack)
        ended = datetime.fromisoformat(closed["ended_at"])
        assert pinged_at - timedelta(seconds=1) <= ended <= pinged_at + timedelta(seconds=1)

        # A failed run is down at once, from its ping: no grace, no deadline.
        failed_at = datetime.now(UTC)
        assert requests.get(f"{url}/1", timeout=5).status_code == 200
        wait_for(lambda: get(f"/api/servers/{job.id}")["status"] == "down", 10,
                 "down on exit code 1", stack)
        [failed] = wait_for(open_incidents, 30, "the failed run's incident", stack)
        assert failed["reason"] == "run failed with exit code 1"
        started = datetime.fromisoformat(failed["started_at"])
        assert failed_at - timedelta(seconds=1) <= started <= failed_at + timedelta(seconds=1)
        requests.get(f"{url}/0", timeout=5)
        wait_for(lambda: get(f"/api/incidents/{failed['id']}")["state"] == "resolved", 30,
                 "the failed run's resolution", stack)

        # The downtime report counts both outages, to the second.
        report = api.get(f"{stack.portal_url}/api/reports/downtime", timeout=10, params={
            "from": (deadline - timedelta(hours=1)).isoformat(),
            "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}).json()
        [row] = [row for row in report["servers"] if row["server"] == "eod-batch"]
        assert row["kind"] == "heartbeat" and row["incidents"] == 2
        expected = (ended - deadline).total_seconds() + (
            datetime.fromisoformat(get(f"/api/incidents/{failed['id']}")["ended_at"])
            - started).total_seconds()
        assert abs(row["downtime_s"] - expected) <= 2
        db.session.remove()


def test_a_ping_sent_while_redis_is_down_is_not_lost_and_nothing_is_called_late(
        migrated, tmp_path):
    """Redis dies just before the job's deadline and comes back empty. The job's ping in
    between reaches only the database; the exporter, back on an empty Redis, must not call
    the job late at the deadline it can no longer see past: the worker restores the ping
    (portal/heartbeats/service.sync_redis) before the exporter believes any silence."""
    with Stack(base_env(migrated), tmp_path, SHORT, own_redis=True) as stack, \
            stack.app.app_context():
        _empty_tables()
        job = make_server("interest-accrual", kind="heartbeat", heartbeat_period_s=PERIOD_S,
                          heartbeat_grace_s=GRACE_S, interval_s=30, timeout_s=10)
        job.heartbeat_since = datetime.now(UTC) - timedelta(seconds=PERIOD_S + GRACE_S - 40)
        db.session.commit()
        announce_change(job.id, "updated")
        url = f"{stack.portal_url}/ping/{ping_key(job)}"
        stack.wait_exporter()
        wait_for(lambda: job_status(stack, job.id) == "up", 60, "the job judged", stack)
        stack.kill("redis")
        assert requests.get(url, timeout=10).text == "OK\n"  # stored, not told
        deadline = job.heartbeat_since + timedelta(seconds=PERIOD_S + GRACE_S)
        # Back, empty, 3 s before the deadline: sooner than the worker's next pass.
        wait_for(lambda: datetime.now(UTC) > deadline - timedelta(seconds=3), 60,
                 "close to the old deadline", stack)
        stack.restart_redis()
        wait_for(lambda: datetime.now(UTC) > deadline + timedelta(seconds=25), 60,
                 "well past the old deadline", stack)
        assert job_status(stack, job.id) == "up"
        events = [row.status for row in db.session.scalars(
            select(ServerEvent).where(ServerEvent.server_id == job.id))]
        assert "down" not in events, events
        db.session.remove()


def job_status(stack: Stack, server_id: int) -> str | None:
    """The exporter's judgement, as the latest result in Redis says."""
    text = redis.Redis(port=stack.redis_port).hget(LATEST_HASH, str(server_id))
    return json.loads(text)["status"] if text else None
