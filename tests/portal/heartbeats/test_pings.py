"""/ping/<key>: jobs report without signing in; strangers learn nothing; floods stop."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis as redis_lib
import requests
from sqlalchemy import text

from portal.extensions import db
from portal.heartbeats import throttle
from portal.heartbeats.models import HeartbeatPing, HeartbeatState
from portal.heartbeats.service import prune_pings, sync_redis
from portal.servers.ping_keys import ping_key
from tests.conftest import TEST_REDIS_URL
from tests.factories import login, make_server, make_user
from tests.support.live_server import serving
from wire.heartbeat import HEARTBEATS_HASH, PingState


@pytest.fixture
def job(app):
    return make_server("eod-batch", kind="heartbeat", heartbeat_period_s=86400,
                       heartbeat_grace_s=3600)


def _url(server, suffix: str = "") -> str:
    return f"/ping/{ping_key(server)}{suffix}"


def _state(server) -> HeartbeatState:
    db.session.expire_all()
    return db.session.get(HeartbeatState, server.id)


def _in_redis(server) -> PingState:
    text = redis_lib.Redis.from_url(TEST_REDIS_URL).hget(HEARTBEATS_HASH, str(server.id))
    return PingState.from_json(text)


def test_a_run_start_to_success_is_stored_with_its_duration_and_told_to_the_exporter(client, job):
    assert client.get(_url(job, "/start"), headers={"User-Agent": "curl/8.5"}).status_code == 200
    response = client.post(_url(job), data=b"rows: 120034\nok\n")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "OK\n")
    start, end = sorted(db.session.query(HeartbeatPing).all(), key=lambda ping: ping.id)
    assert (start.kind, start.user_agent, start.method) == ("start", "curl/8.5", "GET")
    assert (end.kind, end.body, end.source) == ("success", "rows: 120034\nok\n", "127.0.0.1")
    assert end.duration_s is not None and 0 <= end.duration_s < 5
    state = _state(job)
    assert (state.last_kind, state.started_at, state.duration_s) == ("success", None,
                                                                     end.duration_s)
    told = _in_redis(job)
    assert told.last_success_at == pytest.approx(state.last_success_at.timestamp())
    assert told.started_at is None


@pytest.mark.parametrize(("suffix", "kind", "code"), [
    ("/fail", "fail", None), ("/1", "fail", 1), ("/255", "fail", 255), ("/0", "success", 0)])
def test_fail_and_exit_codes(client, job, suffix, kind, code):
    assert client.get(_url(job, suffix)).status_code == 200
    state = _state(job)
    assert (state.last_kind, state.exit_code) == (kind, code)
    assert _in_redis(job).failed is (kind == "fail")


@pytest.mark.parametrize("path", [
    f"/ping/{uuid.uuid4()}",  # well-formed, unknown
    "/ping/not-a-key", "/ping/' OR 1=1 --",
    "/ping/{key}/256", "/ping/{key}/-1", "/ping/{key}/restart", "/ping/{key}/01234"])
def test_anything_but_a_known_key_and_suffix_is_the_same_404(client, job, path):
    response = client.get(path.replace("{key}", ping_key(job)))
    assert (response.status_code, response.get_data(as_text=True)) == (404, "not found\n")
    assert db.session.query(HeartbeatPing).count() == 0


def test_a_probed_servers_key_columns_are_empty_and_a_rotated_key_is_dead(client, app, job):
    http = make_server("web")
    assert http.ping_key_hash is None and ping_key(http) is None
    admin = make_user("admin")
    headers = login(client, admin)
    old = _url(job)
    shown = client.get(f"/api/servers/{job.id}/ping-key", headers=headers).get_json()
    assert shown["ping_url"].endswith(old)
    rotated = client.post(f"/api/servers/{job.id}/ping-key", headers=headers).get_json()
    assert rotated["ping_url"] != shown["ping_url"]
    assert client.get(old).status_code == 404
    assert client.get("/ping/" + rotated["ping_url"].rsplit("/", 1)[1]).status_code == 200
    viewer = login(client, make_user("customer_engagement"))
    assert client.get(f"/api/servers/{job.id}/ping-key", headers=viewer).status_code == 403
    assert client.post(f"/api/servers/{job.id}/ping-key", headers=viewer).status_code == 403
    assert client.get(f"/api/servers/{http.id}/ping-key", headers=headers).status_code == 404


def test_a_flood_from_one_job_is_throttled(client, job):
    for _ in range(throttle.PER_KEY):
        assert client.get(_url(job)).status_code == 200
    refused = client.get(_url(job))
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert db.session.query(HeartbeatPing).count() == throttle.PER_KEY


def test_guessing_keys_from_one_address_is_throttled(client, job, monkeypatch):
    monkeypatch.setattr(throttle, "PER_ADDRESS", 5)
    for _ in range(5):
        assert client.get(f"/ping/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/ping/{uuid.uuid4()}").status_code == 429
    assert client.get(_url(job)).status_code == 429  # the right key too, from that address


def test_only_the_first_10_kb_of_a_body_is_kept(client, job):
    client.post(_url(job), data=b"x" * 50_000)
    assert len(db.session.query(HeartbeatPing).one().body) == 10 * 1024


def test_the_worker_restores_what_redis_lost(client, job):
    client.get(_url(job))
    redis_lib.Redis.from_url(TEST_REDIS_URL).delete(HEARTBEATS_HASH)
    assert sync_redis() == 1
    assert _in_redis(job).last_kind == "success"
    assert sync_redis() == 0  # nothing older or missing now


def test_each_job_keeps_its_newest_pings(client, job):
    other = make_server("backup", kind="heartbeat", heartbeat_period_s=3600)
    for _ in range(5):
        client.get(_url(job))
    client.get(_url(other))
    assert prune_pings(keep=3) == 2
    assert db.session.query(HeartbeatPing).filter_by(server_id=job.id).count() == 3
    assert db.session.query(HeartbeatPing).filter_by(server_id=other.id).count() == 1


def test_a_new_jobs_first_pings_at_once_are_both_stored_and_one_state_made(app):
    """Served for real, in threads: the start and the end of a run that takes no time, the
    job's first pings. On PostgreSQL the server's row is held locked first, so both wait
    for it and then go one after the other: the second finds no state in its snapshot,
    collides with the first's on insert, and tries again."""
    job = make_server("instant-job", kind="heartbeat", heartbeat_period_s=60,
                      heartbeat_grace_s=60)
    with serving(app) as address:
        urls = [f"http://{address}{_url(job, suffix)}" for suffix in ("/start", "")]
        gate = threading.Barrier(len(urls))
        answers: list[int] = []

        def ping(url: str) -> None:
            gate.wait()
            answers.append(requests.get(url, timeout=30).status_code)

        threads = [threading.Thread(target=ping, args=(url,)) for url in urls]
        with db.engine.connect() as holder:
            if db.engine.dialect.name == "postgresql":
                holder.execute(text("SELECT id FROM servers WHERE id = :id FOR UPDATE"),
                               {"id": job.id})
            for thread in threads:
                thread.start()
            time.sleep(0.5)  # both are in, waiting for the row (or for SQLite's lock)
            holder.rollback()
        for thread in threads:
            thread.join()
    assert answers == [200, 200]
    db.session.expire_all()
    assert sorted(p.kind for p in db.session.query(HeartbeatPing).all()) == ["start", "success"]
    assert db.session.query(HeartbeatState).count() == 1
    assert _state(job).last_kind in ("start", "success")
