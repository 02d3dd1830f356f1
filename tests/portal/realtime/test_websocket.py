"""/ws: authenticated, origin-checked, a snapshot first, then events fanned out via Redis."""

import pytest
import simple_websocket

from portal import create_app
from portal.realtime.publish import publish
from tests.conftest import TEST_REDIS_URL, make_config
from tests.factories import make_server, make_user
from tests.portal.realtime.sockets import close_code, connect, cookies_for, receive
from tests.support.live_server import serving


def closed_with_policy_violation(ws):
    with pytest.raises(simple_websocket.ConnectionClosed) as info:
        for _ in range(5):
            ws.receive(timeout=5)
    assert close_code(ws, info.value) == 1008


def test_it_refuses_a_client_without_a_session(live):
    closed_with_policy_violation(connect(live))


def test_it_refuses_another_sites_origin(live):
    cookie = cookies_for(live, make_user("it_staff"))
    closed_with_policy_violation(connect(live, cookie, origin="https://evil.example"))


def test_it_sends_a_snapshot_then_live_status_changes(live):
    server = make_server()
    ws = connect(live, cookies_for(live, make_user("flexipay_support")))
    snapshot = receive(ws, "snapshot")
    assert [s["server_id"] for s in snapshot["data"]["servers"]] == [server.id]
    assert snapshot["data"]["servers"][0]["status"] == "unknown"
    publish("status", {"server_id": server.id, "status": "down", "reason": "timeout"})
    event = receive(ws, "status")
    assert event["data"] == {"server_id": server.id, "status": "down", "reason": "timeout"}
    ws.close()


def test_events_are_filtered_by_permission_and_owner(live):
    viewer = make_user("customer_engagement")
    ws = connect(live, cookies_for(live, viewer))
    receive(ws, "snapshot")
    publish("notification", {"user_id": viewer.id + 1000, "title": "not yours"})
    publish("notification", {"user_id": viewer.id, "title": "yours"})
    assert receive(ws, "notification")["data"]["title"] == "yours"
    ws.close()


def test_events_reach_clients_of_every_portal_process(migrated, live):
    other_app = create_app(make_config(migrated))
    user = make_user("it_staff")
    with serving(other_app) as other:
        first = connect(live, cookies_for(live, user))
        second = connect(other, cookies_for(other, user))
        receive(first, "snapshot")
        receive(second, "snapshot")
        publish("incident", {"id": 7, "state": "open"})
        assert receive(first, "incident")["data"]["id"] == 7
        assert receive(second, "incident")["data"]["id"] == 7
        first.close()
        second.close()


def test_a_deployment_on_another_redis_database_is_not_heard(migrated, live):
    """Pub/sub ignores database numbers: staging on db N+1 of the same Redis must not
    reach production's browsers."""
    database = int(TEST_REDIS_URL.rsplit("/", 1)[1])
    other_url = f"{TEST_REDIS_URL.rsplit('/', 1)[0]}/{(database + 1) % 16}"
    staging = create_app(make_config(migrated, REDIS_URL=other_url))
    ws = connect(live, cookies_for(live, make_user("it_staff")))
    receive(ws, "snapshot")
    with staging.app_context():
        publish("incident", {"id": 1, "state": "open"})
    publish("incident", {"id": 2, "state": "open"})
    assert receive(ws, "incident")["data"]["id"] == 2
    ws.close()
