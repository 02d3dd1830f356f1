"""Server lists are reused while nothing changed, and never after a change."""

from sqlalchemy import event

from portal.extensions import db
from portal.servers import page_cache
from tests.factories import login, make_server, make_user


def count_queries(engine):
    seen = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_an_unchanged_list_is_served_without_reading_the_servers_again(client):
    make_server("pay-api")
    headers = login(client, make_user("it_staff"))
    client.get("/api/servers", headers=headers)
    seen = count_queries(db.engine)
    again = client.get("/api/servers", headers=headers).get_json()
    assert [item["name"] for item in again["items"]] == ["pay-api"]
    assert not any("FROM servers" in sql for sql in seen)


def test_a_change_is_listed_at_once(client):
    headers = login(client, make_user("it_staff"))
    assert client.get("/api/servers", headers=headers).get_json()["total"] == 0
    client.post("/api/servers", headers=headers,
                json={"name": "new", "kind": "icmp", "target": "10.0.0.9"})
    assert client.get("/api/servers", headers=headers).get_json()["total"] == 1


def test_an_old_entry_is_served_once_more_while_its_successor_is_computed_aside(app):
    jobs, values = [], iter(["first", "second", "third"])
    key = ("test", "swr")
    assert page_cache.cached(key, lambda: next(values), ttl_s=0, background=jobs.append) == "first"
    assert jobs == []  # nothing to refresh yet: computed in the request
    assert page_cache.cached(key, lambda: next(values), ttl_s=0, background=jobs.append) == "first"
    assert len(jobs) == 1  # served stale, its successor handed off...
    assert page_cache.cached(key, lambda: next(values), ttl_s=0, background=jobs.append) == "first"
    assert len(jobs) == 1  # ...once, however many requests come meanwhile
    jobs.pop()()
    assert page_cache.cached(key, lambda: "unused", ttl_s=60, background=jobs.append) == "second"


def test_after_a_registry_change_the_request_computes_it_even_with_a_background(app):
    jobs = []
    key = ("test", "swr-change")
    page_cache.cached(key, lambda: "before", ttl_s=0, background=jobs.append)
    page_cache.bump()
    assert page_cache.cached(key, lambda: "after", ttl_s=0, background=jobs.append) == "after"
    assert jobs == []


def test_when_nothing_can_run_aside_the_request_computes_it(app):
    key = ("test", "swr-refused")

    def refuse(_job) -> None:
        raise RuntimeError("can't start new thread")

    page_cache.cached(key, lambda: "old", ttl_s=0, background=refuse)
    assert page_cache.cached(key, lambda: "new", ttl_s=0, background=refuse) == "new"
