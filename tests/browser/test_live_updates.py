"""Live updates in Chromium: events published as the back end publishes them change the page
without a reload: a dashboard tile goes down, the bell counts up, the Alerts page says so.

The portal runs under gunicorn (the ``portal`` fixture in conftest.py); the test
publishes through Redis from its own app context, exactly as the exporter pipeline and the
outbox do, so the whole path (Redis pub/sub, the hub, /ws, portal/static/live/) is the real one.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import delete, update

from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.realtime.publish import publish
from portal.servers.models import Server, ServerStatus
from tests.factories import make_server, make_user, record_state
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser


def _far_id() -> int:
    """Another test run on the same Redis database would hear these events, and its own
    name small ids (tables restart at 1): ours must not be small. (Runs on other databases
    cannot: channel names carry the database number.)"""
    return random.randint(10**6, 10**8)


def _cast() -> tuple[User, Server]:
    """A user and an up server, renumbered before anything refers to them."""
    user = make_user("customer_engagement", username="live.viewer")
    user_id = _far_id()
    db.session.execute(update(User).where(User.id == user.id).values(id=user_id))
    server = make_server("ledger-db", kind="tcp")
    server_id = _far_id()
    db.session.execute(delete(ServerStatus).where(ServerStatus.server_id == server.id))
    db.session.execute(update(Server).where(Server.id == server.id).values(id=server_id))
    db.session.add(ServerStatus(server_id=server_id, status="up", latency_ms=12.0, last_checked=utcnow()))
    db.session.commit()
    db.session.expire_all()
    return db.session.get(User, user_id), db.session.get(Server, server_id)


def test_a_status_change_and_a_notification_show_without_a_reload(portal):
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    user, server = _cast()
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(5000)
            page = context.new_page()
            watch_console(page, problems)
            sign_in(page, base, user.username)

            tile = page.locator(f"article[data-server-id='{server.id}']")
            bell = page.get_by_test_id("bell")
            expect(tile).to_have_attribute("data-status", "up")
            expect(page.locator("[data-count='up']")).to_have_text("1")
            expect(bell.locator("[data-unread-count]")).to_be_hidden()
            expect(page.locator("body")).to_have_attribute("data-live-state", "live")
            page.evaluate("window.stillTheSamePage = true")

            record_state(server, "down", utcnow(), reason="connection refused")  # as ingest stores it
            expect(tile).to_have_attribute("data-status", "down")
            expect(tile).to_have_class("card h-100 server-tile status-down")
            expect(tile.locator("[data-status-badge]")).to_have_text("Down")
            expect(tile.locator("[data-field='reason']")).to_have_text("connection refused")
            expect(tile.locator("[data-field='last-checked']")).to_contain_text("s ago")
            expect(page.locator("[data-count='down']")).to_have_text("1")
            expect(page.locator("[data-count='up']")).to_have_text("0")
            expect(page.locator("[data-live-announcer]")).to_have_text(
                "ledger-db is down: connection refused")

            publish("notification", {"id": 1, "user_id": user.id, "incident_id": None,
                                      "state": "firing", "title": "DOWN: ledger-db - connection refused",
                                      "body": "ledger-db is down.", "created_at": utcnow().isoformat(),
                                      "read_at": None})
            expect(bell.locator("[data-unread-count]")).to_have_text("1")
            expect(bell.locator("[data-unread-count]")).to_be_visible()
            expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
            publish("notification", {"id": 2, "user_id": user.id + 1, "incident_id": None,
                                      "state": "firing", "title": "for someone else", "body": "",
                                      "created_at": utcnow().isoformat(), "read_at": None})
            record_state(server, "up", utcnow())
            expect(tile).to_have_attribute("data-status", "up")
            expect(tile.locator("[data-field='reason']")).to_have_count(0)
            expect(bell.locator("[data-unread-count]")).to_have_text("1")  # not another user's
            assert page.evaluate("window.stillTheSamePage") is True

            page.goto(base + "/alerts")
            expect(page.locator("body")).to_have_attribute("data-live-state", "live")
            publish("incident", {"id": 7, "state": "open", "server": "ledger-db", "server_id": server.id,
                                 "alertname": "ServerDown", "severity": "critical", "downtime": True,
                                 "in_maintenance": False, "started_at": utcnow().isoformat(),
                                 "ended_at": None, "acknowledged_at": None, "reason": "refused"})
            banner = page.locator("[data-live-incidents] [data-live-banner]")
            expect(banner).to_contain_text("New incident: ledger-db: ServerDown (critical)")
            expect(banner.get_by_role("link", name="Reload the page")).to_be_visible()
            banner.get_by_role("button", name="Dismiss").click()
            expect(banner).to_have_count(0)
            assert problems == [], problems
        finally:
            browser.close()


def test_the_logs_page_says_when_a_change_is_logged(portal):
    from playwright.sync_api import expect, sync_playwright

    base, user = portal  # it_staff: Server Logs
    _, server = _cast()
    record_state(server, "up", utcnow())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(5000)
            problems: list[str] = []
            watch_console(page, problems)
            sign_in(page, base, user.username, "/logs")
            expect(page.locator("body")).to_have_attribute("data-live-state", "live")
            record_state(server, "down", utcnow(), reason="disk full")
            banner = page.locator("[data-live-log] [data-live-banner]")
            expect(banner).to_contain_text("ledger-db went down: disk full")
            record_state(server, "up", utcnow())
            expect(banner.locator("li").first).to_have_text("ledger-db came back up")
            banner.get_by_role("link", name="Reload the page").click()
            expect(page).to_have_url(base + "/logs")
            assert problems == [], problems
        finally:
            browser.close()
