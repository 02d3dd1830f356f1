"""A target stops answering: incident, e-mail, SMS and a live status change; it comes back:
all of them resolve. Real exporter, Prometheus, Alertmanager, portal and worker; an SMTP
sink and a stand-in for Twilio's REST API. Timings shortened by configuration only."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
import requests
import simple_websocket

from portal.extensions import db
from tests.conftest import TEST_REDIS_URL, _empty_tables, make_config
from tests.factories import PASSWORD, make_server, make_user
from tests.support import waiting
from tests.support.binaries import free_port
from tests.support.stack import SHORT, Stack

pytestmark = pytest.mark.e2e
INTERVAL_S = 10


class Site(ThreadingHTTPServer):
    """A listen backlog like a real web server's (nginx: 511), not socketserver's 5: with
    hundreds of servers on one site, bursts of probes overflowed 5, the kernel dropped the
    connections and the probes timed out against a site that was up."""

    request_queue_size = 511
    daemon_threads = True


class Target:
    """A local HTTP service that can be stopped and started on the same port; ``status``
    says what each request is answered (200, "ok", unless told otherwise)."""

    def __init__(self, status: Callable[[], int] = lambda: 200) -> None:
        self.port = free_port()
        self.status = status
        self.server: Site | None = None

    def start(self) -> None:
        answer = self.status

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code = answer()
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                with contextlib.suppress(ConnectionError):  # a probe that gave up
                    self.wfile.write(b"ok" if code < 400 else b"no")

            def log_message(self, *_args) -> None:
                pass

        self.server = Site(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def wait_for(check, timeout, what, stack):
    return waiting.wait_for(check, timeout, what, every=0.2, context=stack.logs)


def base_env(database_url: str) -> dict[str, str]:
    config = make_config(database_url)
    return {"SECRET_KEY": config.secret_key, "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL, "SD_TOKEN": config.sd_token,
            "PROBE_SECRETS_KEY": config.probe_secrets_key,
            "ALERTMANAGER_WEBHOOK_TOKEN": config.alertmanager_webhook_token}


class LiveFeed:
    """A browser's WebSocket, collecting events in the background."""

    def __init__(self, stack: Stack, user) -> None:
        login = requests.post(f"{stack.portal_url}/api/auth/login", timeout=10,
                              json={"username": user.username, "password": PASSWORD})
        cookie = "; ".join(f"{c.name}={c.value}" for c in login.cookies)
        self.ws = simple_websocket.Client.connect(
            f"ws://127.0.0.1:{stack.portal_port}/ws",
            headers={"Origin": stack.portal_url, "Cookie": cookie})
        self.events: list[tuple[float, dict]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                raw = self.ws.receive()
                self.events.append((time.monotonic(), json.loads(raw)))
        except simple_websocket.ConnectionClosed:
            pass

    def __enter__(self) -> LiveFeed:
        return self

    def __exit__(self, *_exc) -> None:
        self.ws.close()  # its thread is not a daemon: left open, the process never exits

    def find(self, kind: str, **data) -> tuple[float, dict] | None:
        for at, event in self.events:
            if event["type"] == kind and all(event["data"].get(k) == v for k, v in data.items()):
                return at, event
        return None

    def logged(self, server_id: int, status: str,
               previous: str | None = None) -> tuple[float, dict] | None:
        """The first status event that pushed a state change of the log (``change``) to
        ``status`` (from ``previous``, when given)."""
        for at, event in self.events:
            data = event["data"]
            change = data.get("change") or {}
            if (event["type"] == "status" and data.get("server_id") == server_id
                    and change.get("status") == status
                    and previous in (None, change.get("previous"))):
                return at, event
        return None


@pytest.fixture
def target():
    service = Target()
    service.start()
    yield service
    service.stop()


@pytest.fixture
def feeds():
    """A WebSocket client runs a non-daemon thread: close each one even when the test
    fails, or pytest waits for it for ever after printing its summary."""
    opened: list[LiveFeed] = []
    yield opened
    for feed in opened:
        feed.__exit__()


def test_an_outage_reaches_people_live_and_resolves(migrated, tmp_path, target, feeds):
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with Stack(base_env(migrated), tmp_path, SHORT) as stack, stack.app.app_context():
        _empty_tables()
        on_call = make_user("it_staff", phone="+256700000001", notify_sms=True)
        server = make_server("core-banking", target=f"http://127.0.0.1:{target.port}/health",
                             interval_s=INTERVAL_S, timeout_s=2)
        stack.wait_exporter()
        feed = LiveFeed(stack, on_call)
        feeds.append(feed)
        api = requests.Session()
        api.headers["Authorization"] = "Bearer " + requests.post(
            f"{stack.portal_url}/api/auth/login", timeout=10,
            json={"username": on_call.username, "password": PASSWORD}).json()["access_token"]

        def status():
            return api.get(f"{stack.portal_url}/api/servers/{server.id}", timeout=5).json()

        first = wait_for(lambda: status()["status"] == "up" and status()["last_checked"],
                         3 * INTERVAL_S, "first probe", stack)
        # A new server is probed at once, then joins its phase: its second probe comes half an
        # interval to one and a half intervals later (exporter.scheduler), and from then on one
        # interval apart. Stopping after the second, the outage is seen within one interval.
        wait_for(lambda: status()["last_checked"] != first, 2 * INTERVAL_S, "second probe", stack)

        stopped_at = datetime.now(UTC)
        target.stop()
        wait_for(lambda: feed.find("status", server_id=server.id, status="down"),
                 INTERVAL_S + 5, "live status change", stack)
        incident = wait_for(lambda: (api.get(f"{stack.portal_url}/api/incidents?state=open",
                                             timeout=5).json()["items"] or [None])[0],
                            INTERVAL_S + 30, "open incident", stack)
        started = datetime.fromisoformat(incident["started_at"])
        # The first failed probe, at most one interval after the stop.
        assert stopped_at - timedelta(seconds=1) <= started <= \
            stopped_at + timedelta(seconds=INTERVAL_S + 2)
        log = api.get(f"{stack.portal_url}/api/servers/{server.id}/logs", timeout=5).json()
        [down] = [event for event in log["items"] if event["status"] == "down"]
        assert datetime.fromisoformat(down["at"]) == started  # to the probe, not the alert
        assert incident["server"] == "core-banking" and incident["reason"] == "connection refused"
        wait_for(lambda: feed.find("incident", id=incident["id"], state="open"), 10,
                 "live incident", stack)
        wait_for(lambda: stack.mail and stack.twilio.sent, 30, "e-mail and SMS", stack)
        assert stack.mail[0]["Subject"] == \
            "[servermon] DOWN: core-banking - connection refused"
        assert stack.twilio.sent[0]["To"] == "+256700000001"
        assert status()["status"] == "down"

        target.start()
        restarted_at = datetime.now(UTC)
        # The recovery is pushed at once, and the server is up from that moment, while its
        # incident waits for Alertmanager's resolution (portal/servers/status.py).
        _, recovery = wait_for(lambda: feed.logged(server.id, "up", previous="down"),
                               INTERVAL_S + 5, "live recovery", stack)
        assert recovery["data"]["status"] == "up"
        assert status()["status"] == "up"
        resolved = wait_for(
            lambda: api.get(f"{stack.portal_url}/api/incidents/{incident['id']}",
                            timeout=5).json()["state"] == "resolved", INTERVAL_S + 30,
            "resolution", stack)
        assert resolved
        closed = api.get(f"{stack.portal_url}/api/incidents/{incident['id']}", timeout=5).json()
        ended = datetime.fromisoformat(closed["ended_at"])
        assert restarted_at - timedelta(seconds=1) <= ended <= \
            restarted_at + timedelta(seconds=INTERVAL_S + 2)
        wait_for(lambda: len(stack.mail) >= 2 and len(stack.twilio.sent) >= 2, 30,
                 "resolution messages", stack)
        assert "RESOLVED: core-banking is back up after" in stack.mail[1]["Subject"]
        assert stack.twilio.sent[1]["Body"].startswith("RESOLVED core-banking")
        assert len(stack.mail) == 2 and len(stack.twilio.sent) == 2  # once each
        db.session.remove()
