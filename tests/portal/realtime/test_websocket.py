"""/ws: authenticated, origin-checked, a snapshot first, then events fanned out via Redis."""

import json
import time

import pytest
import requests
import simple_websocket
from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason

from portal import create_app
from portal.realtime.publish import publish
from tests.conftest import TEST_REDIS_URL, make_config
from tests.factories import PASSWORD, make_server, make_user
from tests.support.live_server import serving


@pytest.fixture
def live(app):
    with serving(app) as address:
        yield address


def cookies_for(address, user):
    response = requests.post(f"http://{address}/api/auth/login",
                             json={"username": user.username, "password": PASSWORD}, timeout=10)
    response.raise_for_status()
    return "; ".join(f"{c.name}={c.value}" for c in response.cookies)


OPEN = []


@pytest.fixture(autouse=True)
def close_sockets():
    """Client sockets run a non-daemon thread: close them even when a test fails."""
    yield
    while OPEN:
        ws = OPEN.pop()
        if ws.connected:
            ws.close()


def connect(address, cookie=None, origin="http://127.0.0.1:8000"):
    """The default Origin is the configured PORTAL_URL (simple-websocket sends no port in Host)."""
    headers = {"Origin": origin}
    if cookie:
        headers["Cookie"] = cookie
    ws = simple_websocket.Client.connect(f"ws://{address}/ws", headers=headers)
    OPEN.append(ws)
    return ws


def receive(ws, kind, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = ws.receive(timeout=deadline - time.monotonic())
        if raw is None:
            break
        event = json.loads(raw)
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout}s")


def closed_with_policy_violation(ws):
    with pytest.raises(simple_websocket.ConnectionClosed) as info:
        for _ in range(5):
            ws.receive(timeout=5)
    code = info.value.reason
    if code == CloseReason.NO_STATUS_RCVD:
        # The close frame came in the same read as the handshake's answer: simple-websocket's
        # client parses only the answer and leaves the frame unread. Read it.
        code = next((event.code for event in ws.ws.events()
                     if isinstance(event, CloseConnection)), code)
    assert code == 1008


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
