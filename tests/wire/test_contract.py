"""The exporter and the portal read what the other writes, field for field."""

import json
from datetime import UTC, datetime

import pytest
import redis
import redis.asyncio as aioredis

import wire
from exporter.probes.result import ProbeResult
from exporter.publish import change_fields, latest_json
from exporter.scheduler import TargetState
from exporter.targets import Target
from portal.servers.discovery import target_group
from portal.servers.ingest import StateChange
from tests.factories import make_server


def _state(status: str) -> TargetState:
    target = Target(server_id=7, name="cbs", kind="http", address="http://cbs.test/",
                    labels_text='server_id="7"')
    state = TargetState(target)
    now = datetime.now(UTC)
    state.result = ProbeResult(success=status == "up", duration_s=0.12,
                               reason=None if status == "up" else "connection refused")
    state.status, state.checked_at, state.changed_at = status, now, now
    state.last_ok_at = now
    return state


def test_a_state_change_has_the_fields_the_portal_reads():
    fields = change_fields(_state("down"), "up")
    assert tuple(fields) == wire.STATE_CHANGE_FIELDS
    change = StateChange.from_fields(fields)
    assert (change.server_id, change.status, change.previous) == (7, "down", "up")
    assert change.reason == "connection refused" and change.last_ok_at is not None


def test_the_latest_result_has_the_named_fields():
    assert tuple(json.loads(latest_json(_state("up")))) == wire.LATEST_FIELDS


def test_the_exporter_reads_every_setting_the_portal_sends(app):
    server = make_server(
        name="ledger", kind="http", target="https://ledger.test/health", interval_s=45,
        timeout_s=7, down_after=1, http_method="HEAD", http_accepted_statuses="200,204",
        http_keyword="ok|fine", http_keyword_mode="absent", http_keyword_regex=True,
        http_max_latency_ms=1500, http_follow_redirects=False, tls_verify=False,
        environment="production", group="core", labels={"site": "kla"},
    )
    group = target_group(server)
    sent = {key.removeprefix(wire.META_PREFIX) for key in group["labels"]
            if key.startswith(wire.META_PREFIX)}
    assert sent == set(wire.SD_SETTINGS)
    target = Target.from_group(group)
    assert (target.interval_s, target.timeout_s, target.down_after) == (45, 7, 1)
    assert (target.http_method, target.http_statuses) == ("HEAD", ((200, 200), (204, 204)))
    assert (target.http_keyword, target.http_keyword_absent, target.http_keyword_regex) == \
        ("ok|fine", True, True)
    assert (target.http_max_latency_ms, target.http_follow_redirects, target.tls_verify) == \
        (1500, False, False)
    assert target.labels_text.startswith(
        f'server_id="{server.id}",server="ledger",instance="ledger",kind="http",'
        'environment="production",'
        'group="core"')


@pytest.mark.parametrize(("value", "default", "expected"), [
    ("db1.bank.test:5432", None, ("db1.bank.test", 5432)),
    ("[2001:db8::1]:443", None, ("2001:db8::1", 443)),
    ("10.0.0.53", 53, ("10.0.0.53", 53)),
    ("2001:db8::53", 53, ("2001:db8::53", 53)),
    ("[2001:db8::53]", 53, ("2001:db8::53", 53)),
    ("dns.bank.test:5353", 53, ("dns.bank.test", 5353)),
])
def test_host_and_port(value, default, expected):
    assert wire.split_host_port(value, default) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("db1", "must be host:port"),
    ("2001:db8::1:443", "must be host:port"),
    ("db1:0", "must have a port between 1 and 65535"),
    ("db1:70000", "must have a port between 1 and 65535"),
    ("db 1:80", "must be host:port"),
])
def test_what_is_not_host_and_port(value, message):
    with pytest.raises(ValueError, match=message):
        wire.split_host_port(value)


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://:s3cret@cache.bank.test:6380/3", "Redis database 3 at redis://cache.bank.test:6380/3"),
    ("rediss://servermon:s3cret@cache.bank.test/2", "Redis database 2 at rediss://cache.bank.test:6379/2"),
    ("redis://[::1]:6379/1", "Redis database 1 at redis://[::1]:6379/1"),
    ("unix:///run/redis.sock?db=4", "Redis database 4 at unix:///run/redis.sock?db=4"),
])
def test_the_database_is_named_without_its_password(url, expected):
    assert wire.redis_database(redis.Redis.from_url(url)) == expected
    assert wire.redis_database(aioredis.Redis.from_url(url)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ('{"name": "prod", "host": "w1", "pid": 7, "at": "2026-11-28T12:00:00+00:00"}', "prod"),
    (b'{"name": "prod"}', "prod"),
    (None, None),
    ("not json", None),
    ('["prod"]', None),
    ('{"name": 7}', None),
])
def test_a_deployment_claim_blocks_only_when_it_names_one(value, expected):
    holder = wire.deployment_holder(value)
    assert (holder and holder["name"]) == expected
