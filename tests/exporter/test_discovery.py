"""Service discovery against a real local HTTP endpoint, and Redis change notices."""

import asyncio
import time

import aiohttp
import redis

from exporter import health
from exporter.discovery import Discovery
from tests.exporter.conftest import EXPORTER_REDIS_URL, exporter_config, group
from wire import TARGETS_CHANNEL, channel


class Loaded:
    """The targets callback: remembers each list it was given."""

    def __init__(self) -> None:
        self.lists: list[list] = []

    def __call__(self, targets) -> None:
        self.lists.append(targets)

    @property
    def ids(self) -> list[int]:
        return [t.server_id for t in self.lists[-1]]


def refresh(discovery: Discovery, times: int = 1) -> list[bool]:
    async def scenario():
        async with aiohttp.ClientSession() as session:
            return [await discovery.refresh_once(session) for _ in range(times)]

    return asyncio.run(scenario())


def test_it_fetches_the_targets_with_the_token(sd_server):
    sd_server.groups = [group(1, "http", "http://a.test/"), group(2, "tcp", "db:5432")]
    loaded = Loaded()
    assert refresh(Discovery(exporter_config(sd_server.url), loaded)) == [True]
    assert loaded.ids == [1, 2]
    assert health.SD_UP._value.get() == 1
    assert time.time() - health.SD_LAST_SUCCESS._value.get() < 5


def test_a_wrong_token_is_a_failed_fetch(sd_server):
    sd_server.groups = [group(1, "http", "http://a.test/")]
    config = exporter_config(sd_server.url, SD_TOKEN="another-token-0123456789")
    assert refresh(Discovery(config, Loaded())) == [False]
    assert health.SD_UP._value.get() == 0


def test_an_unchanged_server_keeps_its_target_object(sd_server):
    sd_server.groups = [group(1, "http", "http://a.test/"), group(2, "tcp", "db:5432")]
    loaded = Loaded()
    discovery = Discovery(exporter_config(sd_server.url), loaded)
    refresh(discovery)
    sd_server.groups = [group(1, "http", "http://a.test/"),
                        group(2, "tcp", "db:5432", interval_s="60")]
    refresh(discovery)
    (first_1, first_2), (second_1, second_2) = loaded.lists
    assert second_1 is first_1
    assert second_2 is not first_2 and second_2.interval_s == 60


def test_a_shard_takes_only_its_servers(sd_server):
    sd_server.groups = [group(i, "icmp", f"h{i}") for i in range(1, 10)]
    loaded = Loaded()
    config = exporter_config(sd_server.url, EXPORTER_SHARDS="3", EXPORTER_SHARD="1")
    refresh(Discovery(config, loaded))
    assert loaded.ids == [1, 4, 7]


def test_a_malformed_group_is_skipped_and_the_rest_kept(sd_server):
    bad = group(2, "smtp", "mail:25")
    sd_server.groups = [group(1, "icmp", "h1"), bad, {"targets": "nope"}, group(3, "icmp", "h3")]
    loaded = Loaded()
    refresh(Discovery(exporter_config(sd_server.url), loaded))
    assert loaded.ids == [1, 3]


def test_when_the_portal_is_away_the_last_list_stays_and_it_shows(sd_server):
    sd_server.groups = [group(1, "icmp", "h1")]
    loaded = Loaded()
    discovery = Discovery(exporter_config(sd_server.url), loaded)
    refresh(discovery)
    last_success = health.SD_LAST_SUCCESS._value.get()
    failures = health.SD_FAILURES._value.get()
    sd_server.failing = True
    assert refresh(discovery, times=2) == [False, False]
    assert len(loaded.lists) == 1  # never replaced by an empty list
    assert health.SD_UP._value.get() == 0 and not discovery.up
    assert health.SD_FAILURES._value.get() == failures + 2
    assert health.SD_LAST_SUCCESS._value.get() == last_success


def test_an_unreachable_portal_is_a_failed_fetch(closed_port):
    config = exporter_config(f"http://127.0.0.1:{closed_port}")
    assert refresh(Discovery(config, Loaded())) == [False]


def test_a_change_notice_brings_a_refetch_within_a_second(sd_server, redis_db):
    sd_server.groups = [group(1, "icmp", "h1")]
    loaded = Loaded()
    discovery = Discovery(exporter_config(sd_server.url, SD_REFRESH_S="60"), loaded)
    notices = redis.Redis.from_url(EXPORTER_REDIS_URL)

    async def scenario():
        tasks = [asyncio.create_task(discovery.poll()), asyncio.create_task(discovery.listen())]
        deadline = time.monotonic() + 5
        while len(loaded.lists) < 2:  # the first poll, then one on subscribing
            assert time.monotonic() < deadline, "discovery did not start"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        sd_server.groups = [group(1, "icmp", "h1"), group(2, "icmp", "h2")]
        notices.publish(channel(TARGETS_CHANNEL, notices), '{"server_id": 2, "action": "created"}')
        noticed = time.monotonic()
        while loaded.ids != [1, 2]:
            assert time.monotonic() - noticed < 1.0, "no refetch within a second"
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    notices.close()
    assert sd_server.fetches >= 3


def test_it_remembers_the_deployment_the_portal_names(sd_server):
    discovery = Discovery(exporter_config(sd_server.url), Loaded())
    refresh(discovery)
    assert discovery.deployment is None  # a portal that names none
    sd_server.deployment = "bank-prod"
    refresh(discovery)
    assert discovery.deployment == "bank-prod"
