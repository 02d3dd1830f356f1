"""The worker's claim on its Redis database, against the real Redis: one deployment at a
time, renewed while it lives, taken over once it has lapsed."""

import json
import logging
import os
import socket
import threading
from collections.abc import Iterator

import pytest
import redis

from portal.jobs.deployment import DeploymentConflict, Lease, claim
from tests.conftest import TEST_REDIS_URL
from tests.support.waiting import wait_for
from wire import DEPLOYMENT_KEY, DEPLOYMENT_LEASE_S, redis_database


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def closed_port_redis() -> Iterator[redis.Redis]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = redis.Redis.from_url(f"redis://127.0.0.1:{port}/12", socket_connect_timeout=1)
    yield client
    client.close()


def holder(client: redis.Redis) -> dict:
    return json.loads(client.get(DEPLOYMENT_KEY))


def test_a_claim_names_the_deployment_and_its_worker_for_one_lease(redis_db):
    claim(redis_db, "prod")
    assert holder(redis_db) == {**holder(redis_db), "name": "prod",
                                "host": socket.gethostname(), "pid": os.getpid()}
    assert DEPLOYMENT_LEASE_S - 2 <= redis_db.ttl(DEPLOYMENT_KEY) <= DEPLOYMENT_LEASE_S


def test_the_same_deployment_renews_its_claim(redis_db):
    claim(redis_db, "prod")
    redis_db.expire(DEPLOYMENT_KEY, 5)
    claim(redis_db, "prod")
    assert redis_db.ttl(DEPLOYMENT_KEY) > DEPLOYMENT_LEASE_S - 2
    assert holder(redis_db)["name"] == "prod"


def test_another_live_deployment_is_refused_with_who_holds_it(redis_db):
    claim(redis_db, "staging")
    redis_db.pexpire(DEPLOYMENT_KEY, (DEPLOYMENT_LEASE_S - 4) * 1000)
    with pytest.raises(DeploymentConflict) as refused:
        claim(redis_db, "prod")
    conflict = refused.value
    assert (conflict.name, conflict.host, conflict.pid) == ("staging", socket.gethostname(),
                                                            os.getpid())
    assert 3.5 <= conflict.seen_s <= 5
    assert str(conflict) == (
        f'{redis_database(redis_db)} is in use by deployment "staging" (worker on host '
        f'{socket.gethostname()} pid {os.getpid()}, seen 4 s ago); this deployment is "prod". '
        "Give each deployment its own Redis database (REDIS_URL) or the same DEPLOYMENT_NAME.")
    assert holder(redis_db)["name"] == "staging"
    assert redis_db.ttl(DEPLOYMENT_KEY) <= DEPLOYMENT_LEASE_S - 4


def test_a_lapsed_claim_is_taken_over(redis_db):
    claim(redis_db, "staging")
    redis_db.pexpire(DEPLOYMENT_KEY, 50)
    wait_for(lambda: not redis_db.exists(DEPLOYMENT_KEY), what="the claim to expire")
    claim(redis_db, "prod")
    assert holder(redis_db)["name"] == "prod"


def test_a_value_naming_no_deployment_is_taken_over(redis_db):
    redis_db.set(DEPLOYMENT_KEY, "left by hand")
    claim(redis_db, "prod")
    assert holder(redis_db)["name"] == "prod"


def test_of_workers_claiming_at_once_exactly_one_deployment_wins(redis_db):
    won, refused = [], []
    start = threading.Barrier(8)

    def contend(name: str) -> None:
        start.wait()
        try:
            claim(redis_db, name)
            won.append(name)
        except DeploymentConflict:
            refused.append(name)

    threads = [threading.Thread(target=contend, args=(f"deployment-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(won) == 1 and len(refused) == 7
    assert holder(redis_db)["name"] == won[0]


def test_the_lease_holds_while_renewed_and_lets_go_at_a_conflict(redis_db, caplog, monkeypatch):
    # The migrations' fileConfig (run by the session's first app) disables loggers that
    # already exist, this module's among them.
    monkeypatch.setattr(logging.getLogger("portal.jobs.deployment"), "disabled", False)
    lease = Lease(redis_db, "prod")
    assert not lease.held()
    lease.keep()
    assert lease.held()
    redis_db.delete(DEPLOYMENT_KEY)
    claim(redis_db, "staging")
    with caplog.at_level(logging.INFO, logger="portal.jobs.deployment"):
        lease.keep()
        lease.keep()
        assert not lease.held()
        redis_db.delete(DEPLOYMENT_KEY)
        lease.keep()
    assert lease.held()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith(f"servermon: {redis_database(redis_db)} is in use by "
                               'deployment "staging"')
    assert lines[1] == f'deployment "prod" holds {redis_database(redis_db)} again; ingest resumes'


def test_an_unreachable_redis_is_no_conflict_and_no_hold(closed_port_redis):
    lease = Lease(closed_port_redis, "prod")
    lease.keep()
    assert not lease.held() and lease.conflict is None
