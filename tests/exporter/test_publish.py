"""Results to the portal through the exporter tests' Redis database: exactly the contract the
portal reads."""

import asyncio
import json
import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from exporter import health, publish
from exporter.probes.result import HeartbeatFigures, ProbeResult
from exporter.publish import Publisher
from exporter.scheduler import TargetState
from portal.jobs.deployment import DeploymentConflict, claim
from tests.exporter.conftest import EXPORTER_REDIS_URL, target
from wire import (
    DEPLOYMENT_KEY,
    DEPLOYMENT_LEASE_S,
    EVENTS_STREAM,
    HEARTBEATS,
    LATEST_HASH,
    redis_database,
)

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def probed(state: TargetState, publisher: Publisher, success: bool, at: datetime,
           reason: str | None = None, status_code: int | None = 200,
           cert_expiry: float | None = None) -> None:
    """What the scheduler does with a result (Scheduler.record without the scheduler)."""
    previous = state.status
    state.result = ProbeResult(success=success, duration_s=0.0125, reason=reason,
                               http_status_code=status_code, cert_expiry=cert_expiry)
    state.checked_at, state.status = at, "up" if success else "down"
    if state.status != previous:
        state.changed_at = at
    publisher.record(state, previous)
    if success:
        state.last_ok_at = at


def events(redis_db) -> list[dict]:
    return [fields for _id, fields in redis_db.xrange(EVENTS_STREAM)]


async def flushed(publisher: Publisher) -> None:
    try:
        await publisher.flush()
    finally:
        await publisher.redis.aclose()


def test_every_result_overwrites_the_servers_latest_entry(redis_db):
    publisher = Publisher(EXPORTER_REDIS_URL)
    state = TargetState(target=target("http", "http://a.test/", server_id=4))
    probed(state, publisher, True, T0)
    probed(state, publisher, False, T0 + timedelta(seconds=30), "status 503", 503)
    asyncio.run(flushed(publisher))
    assert json.loads(redis_db.hget(LATEST_HASH, "4")) == {
        "server_id": 4, "status": "down", "reason": "status 503", "latency_ms": None,
        "checked_at": "2026-11-28T12:00:30+00:00", "status_code": 503, "cert_expiry": None,
        "beats": "ud", "beat_latency_ms": [12.5, None]}


def test_the_entry_keeps_the_last_heartbeats_oldest_first_and_the_certificate_seen(redis_db):
    publisher = Publisher(EXPORTER_REDIS_URL)
    state = TargetState(target=target("http", "https://a.test/", server_id=5))
    outcomes = [True] * (HEARTBEATS - 1) + [False, True, False]
    for n, ok in enumerate(outcomes):
        probed(state, publisher, ok, T0 + timedelta(seconds=30 * n), None if ok else "timeout",
               cert_expiry=1_900_000_000.0 if ok else None)
    asyncio.run(flushed(publisher))
    entry = json.loads(redis_db.hget(LATEST_HASH, "5"))
    kept = outcomes[-HEARTBEATS:]
    assert entry["beats"] == "".join("u" if ok else "d" for ok in kept)
    assert len(entry["beat_latency_ms"]) == HEARTBEATS
    assert entry["beat_latency_ms"][-3:] == [None, 12.5, None]
    # The newest probe failed and saw no certificate; the last one seen still stands.
    assert entry["cert_expiry"] == 1_900_000_000.0
    assert entry["latency_ms"] is None


def test_history_is_short_after_a_restart_and_gone_with_the_server(redis_db):
    first = Publisher(EXPORTER_REDIS_URL)
    state = TargetState(target=target("http", "http://a.test/", server_id=8))
    for n in range(5):
        probed(state, first, True, T0 + timedelta(seconds=30 * n))
    asyncio.run(flushed(first))
    assert json.loads(redis_db.hget(LATEST_HASH, "8"))["beats"] == "uuuuu"
    restarted = Publisher(EXPORTER_REDIS_URL)  # a new process: only what it has seen since
    probed(state, restarted, False, T0 + timedelta(minutes=5), "timeout")
    restarted.forget(8)
    probed(state, restarted, True, T0 + timedelta(minutes=6))
    asyncio.run(flushed(restarted))
    assert json.loads(redis_db.hget(LATEST_HASH, "8"))["beats"] == "u"


def test_state_changes_go_to_the_stream_with_the_outage_window(redis_db):
    publisher = Publisher(EXPORTER_REDIS_URL)
    state = TargetState(target=target("tcp", "db:5432", server_id=9))
    probed(state, publisher, True, T0, status_code=None)
    probed(state, publisher, True, T0 + timedelta(seconds=30), status_code=None)
    probed(state, publisher, False, T0 + timedelta(seconds=60), "connection refused", None)
    probed(state, publisher, False, T0 + timedelta(seconds=90), "connection refused", None)
    probed(state, publisher, True, T0 + timedelta(seconds=120), status_code=None)
    asyncio.run(flushed(publisher))
    stream = events(redis_db)
    assert [(e["previous"], e["status"]) for e in stream] == [
        ("unknown", "up"), ("up", "down"), ("down", "up")]
    down = stream[1]
    assert down == {**down, "server_id": "9", "reason": "connection refused",
                    "latency_ms": "", "at": "2026-11-28T12:01:00+00:00",
                    "last_ok_at": "2026-11-28T12:00:30+00:00"}
    assert stream[0]["last_ok_at"] == "" and stream[2]["last_ok_at"] == ""
    assert stream[2]["reason"] == ""
    assert len({e["event_id"] for e in stream}) == 3
    assert all(len(e["event_id"]) == 32 for e in stream)
    assert json.loads(redis_db.hget(LATEST_HASH, "9"))["status_code"] is None


def test_a_heartbeat_has_no_latency_to_show(redis_db):
    """A job on time is up, yet nothing answered a request: its tile says "—", not "0 ms"."""
    publisher = Publisher(EXPORTER_REDIS_URL)
    state = TargetState(target=target(
        "heartbeat", "heartbeat:12", 12, heartbeat_period_s=60, heartbeat_grace_s=60,
        heartbeat_since=T0.timestamp() - 600, heartbeat_timezone="Africa/Kampala"))
    state.result = ProbeResult(success=True, duration_s=0.0, heartbeat=HeartbeatFigures(
        last_ping_at=T0.timestamp(), deadline=T0.timestamp() + 120, duration_s=4.0,
        started_at=None))
    state.checked_at = state.changed_at = T0
    state.status = "up"
    publisher.record(state, None)
    asyncio.run(flushed(publisher))
    latest = json.loads(redis_db.hget(LATEST_HASH, "12"))
    assert (latest["status"], latest["latency_ms"], latest["beat_latency_ms"]) == (
        "up", None, [None])
    assert events(redis_db)[0]["latency_ms"] == ""


def test_a_removed_server_leaves_the_latest_hash(redis_db):
    publisher = Publisher(EXPORTER_REDIS_URL)
    state = TargetState(target=target("http", "http://a.test/", server_id=6))
    probed(state, publisher, True, T0)

    async def scenario():
        await publisher.flush()
        publisher.forget(6)
        await flushed(publisher)

    asyncio.run(scenario())
    assert redis_db.hget(LATEST_HASH, "6") is None


def test_while_redis_is_away_changes_queue_in_order_and_the_oldest_are_dropped(
        redis_db, closed_port):
    publisher = Publisher(f"redis://127.0.0.1:{closed_port}/13", queue_limit=3)
    dropped = health.EVENTS_DROPPED._value.get()
    states = [TargetState(target=target("http", "http://a.test/", server_id=i))
              for i in range(1, 6)]
    for state in states:
        probed(state, publisher, True, T0)

    async def scenario():
        with pytest.raises(RedisConnectionError):
            await publisher.flush()
        probed(states[0], publisher, False, T0 + timedelta(seconds=30), "status 500", 500)
        await publisher.redis.aclose()
        publisher.redis = aioredis.Redis.from_url(EXPORTER_REDIS_URL, decode_responses=True)
        await flushed(publisher)

    asyncio.run(scenario())
    assert health.EVENTS_DROPPED._value.get() == dropped + 3
    assert [(e["server_id"], e["status"]) for e in events(redis_db)] == [
        ("4", "up"), ("5", "up"), ("1", "down")]
    assert len(redis_db.hgetall(LATEST_HASH)) == 5
    assert json.loads(redis_db.hget(LATEST_HASH, "1"))["status"] == "down"


def test_the_publisher_reports_redis_down_and_keeps_going(closed_port):
    publisher = Publisher(f"redis://127.0.0.1:{closed_port}/13")
    state = TargetState(target=target("http", "http://a.test/", server_id=1))
    probed(state, publisher, True, T0)

    async def scenario():
        task = asyncio.create_task(publisher.run())
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await publisher.close()

    asyncio.run(scenario())
    assert health.REDIS_UP._value.get() == 0 and not publisher.up
    assert len(publisher.events) == 1 and "1" in publisher.latest


def held_by(redis_db, name: str) -> None:
    """Another deployment's worker holding the database, as portal/jobs/deployment.py writes it."""
    redis_db.set(DEPLOYMENT_KEY, json.dumps({"name": name, "process": "worker", "host": "worker-7",
                                             "pid": 4242, "at": "2026-11-28T12:00:00+00:00"}),
                 ex=DEPLOYMENT_LEASE_S)


@pytest.fixture
def rechecking(monkeypatch):
    """The deployment key read at every flush, not every few seconds; its log lines seen
    although the migrations' fileConfig disabled this module's logger."""
    monkeypatch.setattr(publish, "DEPLOYMENT_CHECK_S", 0.0)
    monkeypatch.setattr(logging.getLogger("exporter.publish"), "disabled", False)


def test_nothing_is_written_while_another_deployment_holds_the_database(
        redis_db, rechecking, caplog):
    held_by(redis_db, "staging")
    publisher = Publisher(EXPORTER_REDIS_URL, deployment=lambda: "prod")
    state = TargetState(target=target("http", "http://a.test/", server_id=4))
    probed(state, publisher, True, T0)
    probed(state, publisher, False, T0 + timedelta(seconds=30), "status 503", 503)

    async def scenario():
        for _ in range(3):
            await publisher.flush()
        await publisher.redis.aclose()

    with caplog.at_level(logging.INFO, logger="exporter.publish"):
        asyncio.run(scenario())
    assert redis_db.xlen(EVENTS_STREAM) == 0 and not redis_db.exists(LATEST_HASH)
    assert len(publisher.events) == 2 and "4" in publisher.latest
    assert publisher.conflict and health.DEPLOYMENT_CONFLICT._value.get() == 1
    assert [record.getMessage() for record in caplog.records] == [
        f'{redis_database(redis_db)} is in use by deployment "staging" (worker on host worker-7 '
        "pid 4242, seen 0 s ago); this exporter's portal is deployment \"prod\", so nothing is "
        "published (2 state changes queued). Give each deployment its own Redis database "
        "(REDIS_URL), or point PORTAL_URL at that deployment's portal."]


def test_the_queued_changes_go_out_once_the_database_is_the_portals_again(
        redis_db, rechecking, caplog):
    held_by(redis_db, "staging")
    publisher = Publisher(EXPORTER_REDIS_URL, deployment=lambda: "prod")
    state = TargetState(target=target("tcp", "db:5432", server_id=9))

    async def scenario():
        probed(state, publisher, True, T0, status_code=None)
        await publisher.flush()
        probed(state, publisher, False, T0 + timedelta(seconds=30), "connection refused", None)
        await publisher.flush()
        held_by(redis_db, "prod")
        await flushed(publisher)

    with caplog.at_level(logging.INFO, logger="exporter.publish"):
        asyncio.run(scenario())
    assert [(e["previous"], e["status"]) for e in events(redis_db)] == [
        ("unknown", "up"), ("up", "down")]
    assert json.loads(redis_db.hget(LATEST_HASH, "9"))["status"] == "down"
    assert not publisher.events and not publisher.conflict
    assert health.DEPLOYMENT_CONFLICT._value.get() == 0
    assert caplog.records[-1].getMessage() == (
        f"{redis_database(redis_db)} is this deployment's again; publishing 2 queued state changes")


def test_publishing_claims_the_database_for_the_portals_deployment(redis_db, rechecking):
    """With its worker stopped, the exporter's own claim still keeps another deployment's
    worker off the changes it writes."""
    publisher = Publisher(EXPORTER_REDIS_URL, deployment=lambda: "prod")
    state = TargetState(target=target("http", "http://a.test/", server_id=3))
    probed(state, publisher, True, T0)
    asyncio.run(flushed(publisher))
    assert redis_db.xlen(EVENTS_STREAM) == 1 and not publisher.conflict
    claimed = json.loads(redis_db.get(DEPLOYMENT_KEY))
    assert (claimed["name"], claimed["process"], claimed["pid"]) == ("prod", "exporter", os.getpid())
    assert redis_db.ttl(DEPLOYMENT_KEY) > DEPLOYMENT_LEASE_S - 2
    with pytest.raises(DeploymentConflict, match=r'"prod" \(exporter on host '):
        claim(redis.Redis.from_url(EXPORTER_REDIS_URL), "staging")


def test_a_portal_that_has_not_named_its_deployment_claims_nothing(redis_db):
    """Before service discovery has answered the exporter has no targets of its own, so it
    only reads the key; a claim in it blocks nothing yet."""
    held_by(redis_db, "staging")
    publisher = Publisher(EXPORTER_REDIS_URL, deployment=lambda: None)
    state = TargetState(target=target("http", "http://a.test/", server_id=3))
    probed(state, publisher, True, T0)
    asyncio.run(flushed(publisher))
    assert redis_db.xlen(EVENTS_STREAM) == 1 and redis_db.hexists(LATEST_HASH, "3")
    assert not publisher.conflict and health.DEPLOYMENT_CONFLICT._value.get() == 0
    assert json.loads(redis_db.get(DEPLOYMENT_KEY))["name"] == "staging"
