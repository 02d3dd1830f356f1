"""Server lists are reused while nothing changed, and never after a change."""

from sqlalchemy import event

from portal.extensions import db
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
