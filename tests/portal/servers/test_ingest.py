"""State changes from the exporter's Redis stream, stored exactly once."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.jobs.deployment import Lease, claim
from portal.realtime.publish import CHANNEL
from portal.redis_client import channel, get_redis
from portal.servers import ingest
from portal.servers.ingest import DEAD_LETTER, StreamConsumer
from portal.servers.models import ServerEvent, ServerStatus
from tests.factories import login, make_server, make_user
from tests.support.waiting import wait_for
from wire import DEPLOYMENT_KEY, EVENTS_GROUP, EVENTS_STREAM

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def change(server, status="down", at=T0, event_id=None, **extra):
    fields = {"event_id": event_id or uuid.uuid4().hex, "server_id": str(server.id),
              "status": status, "previous": "up" if status == "down" else "down",
              "reason": "connection refused" if status == "down" else "", "latency_ms": "12.5",
              "at": at.isoformat(), "last_ok_at": (at - timedelta(seconds=30)).isoformat()}
    fields.update(extra)
    get_redis().xadd(EVENTS_STREAM, fields)
    return fields


@pytest.fixture
def consumer(app):
    return StreamConsumer(app, "test-consumer", block_ms=10)


def events():
    return db.session.scalars(db.select(ServerEvent).order_by(ServerEvent.at)).all()


def test_a_change_is_stored_and_moves_the_status(consumer):
    server = make_server()
    change(server, "down", T0)
    assert consumer.run_once() == 1
    db.session.expire_all()
    state = db.session.get(ServerStatus, server.id)
    assert (state.status, state.reason, state.changed_at) == ("down", "connection refused", T0)
    assert events()[0].last_ok_at == T0 - timedelta(seconds=30)


def test_a_redelivered_change_is_stored_once(consumer):
    server = make_server()
    fields = change(server)
    change(server, event_id=fields["event_id"])
    consumer.run_once()
    assert len(events()) == 1
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 0


def test_an_older_change_arriving_late_does_not_overwrite_a_newer_status(consumer):
    server = make_server()
    change(server, "up", T0 + timedelta(minutes=5))
    change(server, "down", T0)
    consumer.run_once()
    db.session.expire_all()
    assert db.session.get(ServerStatus, server.id).status == "up"
    assert [e.status for e in events()] == ["down", "up"]


def test_a_malformed_entry_goes_to_the_dead_letter_stream(consumer):
    server = make_server()
    change(server, status="sideways")
    consumer.run_once()
    assert events() == []
    dead = get_redis().xrange(DEAD_LETTER)
    assert dead and "sideways" in dead[0][1]["error"]


def test_changes_for_a_removed_server_are_acknowledged_and_dropped(consumer):
    server = make_server()
    change(server)
    db.session.delete(server)
    db.session.commit()
    consumer.run_once()
    assert events() == []
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 0


def test_a_database_failure_leaves_the_entry_pending_for_a_retry(consumer, monkeypatch):
    server = make_server()
    change(server)
    real = ingest.record_changes

    def broken(_changes):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(ingest, "record_changes", broken)
    consumer.run_once()
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 1
    monkeypatch.setattr(ingest, "record_changes", real)
    consumer.run_once()
    assert len(events()) == 1
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 0


def test_a_stored_change_is_pushed_to_live_clients(consumer):
    server = make_server()
    pubsub = get_redis().pubsub()
    pubsub.subscribe(channel(CHANNEL))
    pubsub.get_message(timeout=1)
    change(server, "down")
    consumer.run_once()
    message = json.loads(pubsub.get_message(timeout=2)["data"])
    assert message["type"] == "status"
    assert message["data"]["server_id"] == server.id and message["data"]["status"] == "down"
    pubsub.close()


def test_logs_list_changes_newest_first_with_filters(client, consumer):
    server = make_server()
    change(server, "down", T0)
    change(server, "up", T0 + timedelta(minutes=3))
    consumer.run_once()
    headers = login(client, make_user("ebanking_support"))
    body = client.get(f"/api/servers/{server.id}/logs", headers=headers).get_json()
    assert [item["status"] for item in body["items"]] == ["up", "down"]
    assert body["items"][1]["reason"] == "connection refused"
    assert body["latest"] is None  # not probed since (no result in Redis)
    since = (T0 + timedelta(minutes=1)).isoformat().replace("+", "%2B")
    later = client.get(f"/api/servers/{server.id}/logs?from={since}", headers=headers).get_json()
    assert [item["status"] for item in later["items"]] == ["up"]
    naive = client.get(f"/api/servers/{server.id}/logs?from=2026-01-01T00:00:00", headers=headers)
    assert naive.status_code == 400 and "from" in naive.get_json()["details"]


def test_logs_need_the_logs_permission(client):
    server = make_server()
    headers = login(client, make_user("flexipay_support"))
    assert client.get(f"/api/servers/{server.id}/logs", headers=headers).status_code == 403


def test_the_listing_and_the_log_show_the_exporters_latest_result(client):
    server = make_server()
    latest = {"server_id": server.id, "status": "up", "reason": None, "latency_ms": 42.0,
              "checked_at": T0.isoformat(), "status_code": 200}
    get_redis().hset("servermon:latest", str(server.id), json.dumps(latest))
    headers = login(client, make_user("customer_engagement"))
    item = client.get("/api/servers", headers=headers).get_json()["items"][0]
    assert (item["status"], item["latency_ms"], item["last_checked"]) == ("up", 42.0,
                                                                          T0.isoformat())
    headers = login(client, make_user("ebanking_support"))  # logs.view
    assert client.get(f"/api/servers/{server.id}/logs", headers=headers).get_json()["latest"] == latest


def test_a_failed_live_update_does_not_leave_a_stored_change_pending(consumer, monkeypatch):
    """The change is committed before browsers are told; telling them is best effort."""
    from portal.servers import live

    server = make_server()

    def database_gone(*_conditions):
        raise OperationalError("SELECT", {}, Exception("database is away"))

    monkeypatch.setattr(live, "_items", database_gone)
    change(server, "down")
    assert consumer.run_once() == 1
    assert len(events()) == 1
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 0


def stored():
    db.session.expire_all()
    return events()


def test_a_consumer_reads_only_while_its_deployment_holds_the_database(app):
    """The worker's consumer is gated by its lease (portal/jobs/deployment.py): once another
    deployment holds the database, a change added to the stream is left unread."""
    server = make_server()
    redis = get_redis()
    lease = Lease(redis, app.config["SERVERMON"].deployment)
    lease.keep()
    consumer = StreamConsumer(app, "gated", block_ms=50, may_read=lease.held)
    thread = consumer.start_thread()
    try:
        change(server, "down", T0)
        wait_for(lambda: len(stored()) == 1, what="the change while the lease is held")
        redis.delete(DEPLOYMENT_KEY)
        claim(redis, "staging")
        lease.keep()
        time.sleep(0.3)  # the round of reads already under way (50 ms blocks) ends
        change(server, "up", T0 + timedelta(minutes=1))
        time.sleep(1.5)  # the consumer checks its lease every second meanwhile
        group = redis.xinfo_groups(EVENTS_STREAM)[0]
        assert (group["lag"], group["pending"]) == (1, 0)
        assert len(stored()) == 1
        redis.delete(DEPLOYMENT_KEY)
        lease.keep()
        wait_for(lambda: len(stored()) == 2, what="the change once the lease is back")
    finally:
        consumer.stopping.set()
        thread.join(5)


def _statements(engine, into: list[str]):
    def seen(_conn, _cursor, statement, *_rest):
        into.append(statement)
    sa_event.listen(engine, "before_cursor_execute", seen)
    return lambda: sa_event.remove(engine, "before_cursor_execute", seen)


def test_a_data_centre_going_dark_is_stored_in_a_few_statements_not_a_few_per_server(consumer):
    """60 servers down at once: three reads, the inserts and updates, one commit, and the
    live feed's reads (8 statements), whatever the number of servers; one transaction a
    change took 10 statements and a commit each (600 here)."""
    servers = [make_server(f"dc-{number}") for number in range(60)]
    for server in servers:
        change(server, "down", T0)
    statements: list[str] = []
    stop = _statements(db.engine, statements)
    try:
        assert consumer.run_once() == 60
    finally:
        stop()
    db.session.expire_all()
    assert {state.status for state in db.session.scalars(db.select(ServerStatus))} == {"down"}
    assert len(events()) == 60
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 0
    assert len(statements) <= 12, statements


def test_one_change_the_database_refuses_stays_pending_alone(consumer, monkeypatch):
    """The batch fails as a whole; tried entry by entry, the others are stored and only the
    one refused stays pending, for the next round."""
    servers = [make_server(f"ok-{number}") for number in range(3)]
    sent = [change(server, "down", T0) for server in servers]
    real = ingest.record_changes

    def refuses_one(changes, **options):
        if any(c.event_id == sent[1]["event_id"] for c in changes):
            raise OperationalError("INSERT", {}, Exception("value refused"))
        return real(changes, **options)

    monkeypatch.setattr(ingest, "record_changes", refuses_one)
    assert consumer.run_once() == 2
    assert sorted(event.server_id for event in events()) == [servers[0].id, servers[2].id]
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 1


def test_a_reason_with_a_nul_character_is_stored_not_refused(consumer):
    """PostgreSQL refuses NUL in text; a probe's reason can quote what a server sent."""
    server = make_server()
    change(server, "down", T0, reason="banner: SSH\x00garbage")
    assert consumer.run_once() == 1
    assert events()[0].reason == "banner: SSH\ufffdgarbage"


def test_two_changes_of_one_server_in_one_batch_leave_the_newer_status(consumer):
    server = make_server()
    change(server, "down", T0)
    change(server, "up", T0 + timedelta(minutes=2))
    change(server, "down", T0 + timedelta(minutes=1))
    assert consumer.run_once() == 3
    db.session.expire_all()
    state = db.session.get(ServerStatus, server.id)
    assert (state.status, state.changed_at) == ("up", T0 + timedelta(minutes=2))


def test_a_batch_colliding_with_another_consumer_stores_the_rest_once(consumer):
    """Another consumer commits one of the batch's entries after this one's reads, before
    its writes: the batch's unique key fails, and read again, every other entry is still
    stored once."""
    servers = [make_server(f"race-{number}") for number in range(3)]
    sent = [change(server, "down", T0) for server in servers]
    raced = []

    def other_consumer_first(_conn, _cursor, statement, *_rest):
        if statement.startswith("INSERT INTO server_events") and not raced:
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(ServerEvent.__table__.insert().values(
                    event_id=sent[1]["event_id"], server_id=servers[1].id, status="down",
                    previous="up", at=T0, received_at=T0))

    sa_event.listen(db.engine, "before_cursor_execute", other_consumer_first)
    try:
        assert consumer.run_once() == 2
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", other_consumer_first)
    assert raced
    assert sorted(event.event_id for event in events()) == sorted(f["event_id"] for f in sent)
    assert get_redis().xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 0
