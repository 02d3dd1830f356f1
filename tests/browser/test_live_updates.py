"""Live updates in Chromium: events published as the back end publishes them change the page
without a reload: a dashboard tile goes down, the bell counts up, the Alerts page says so.
What a live change shows is what a reload shows (the markup is cloned from the page), and
each page runs only the live modules it needs.

The portal runs under gunicorn (the ``portal`` fixture in conftest.py); the test
publishes through Redis from its own app context, exactly as the exporter pipeline and the
outbox do, so the whole path (Redis pub/sub, the hub, /ws, portal/static/live/) is the real one.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.maintenance import create_window
from portal.incidents.schemas import WindowIn
from portal.realtime.publish import publish
from portal.servers.models import Server, ServerStatus
from tests.factories import make_server, make_user, record_state
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, chromium_page, sign_in, watch_console

pytestmark = pytest.mark.browser

# What a tile shows of its status: its class, badge and reason, and where each part sits.
DESCRIBE = """tile => ({
  className: tile.className,
  badge: tile.querySelector("[data-status-badge]").outerHTML,
  reason: (tile.querySelector("[data-field='reason']") || {}).outerHTML || null,
  layout: [...tile.querySelector(".card-body").children]
    .map(node => node.tagName + (node.dataset.field ? ":" + node.dataset.field : ""))
})"""
# The same for the tile as the portal renders it now, parsed by the same browser, so both
# are compared as the DOM serialises them.
RENDERED = """async ([url, selector]) => {
  const html = await (await fetch(url, {credentials: "same-origin"})).text();
  const tile = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
  return (""" + DESCRIBE + """)(tile);
}"""
# Every status event this page has received, to wait on one that changes nothing visible.
RECORD_EVENTS = """() => { window.statusEvents = [];
  document.addEventListener('servermon:status', e => window.statusEvents.push(e.detail)); }"""
LIVE_SCRIPTS = """() => [...document.scripts].map(s => s.src && new URL(s.src).pathname)
  .filter(path => path && path.startsWith('/static/live/'))"""
UP_AGAIN = "() => window.statusEvents.some(e => e.change && e.change.status === 'up')"


def _far_id() -> int:
    """Another test run on the same Redis database would hear these events, and its own
    name small ids (tables restart at 1): ours must not be small. (Runs on other databases
    cannot: channel names carry the database number.)"""
    return random.randint(10**6, 10**8)


def _cast(role: str = "customer_engagement") -> tuple[User, Server]:
    """A user and an up server, renumbered before anything refers to them."""
    user = make_user(role, username="live.viewer")
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
            # No incident recorded yet, so no list to put it in: the page loads its lists in
            # place (tests/browser/test_one_story.py, with a real first incident), with no
            # button or banner, and says so to a screen reader.
            expect(page.get_by_test_id("live-new")).to_be_hidden()
            expect(page.locator("[data-live-announcer]")).to_have_text(
                "New incident: ledger-db: ServerDown (critical)")
            expect(page.locator("[data-live-banner]")).to_have_count(0)
            assert problems == [], problems
        finally:
            browser.close()


def test_a_live_tile_shows_the_badge_and_reason_the_server_renders(portal):
    """Down through the ingest path, then maintenance through a real window (the server
    decides it; the browser takes the snapshot that follows): each time the tile's badge,
    class and reason are what the dashboard renders for that status."""
    from playwright.sync_api import expect

    base, _ = portal
    user, server = _cast()
    record_state(server, "up", utcnow())
    tile_selector = f"article[data-server-id='{server.id}']"
    with chromium_page(timeout_ms=8000, viewport={"width": 1300, "height": 900}) as (page, problems):
        sign_in(page, base, user.username)
        expect(page.locator("body")).to_have_attribute("data-live-state", "live")
        page.evaluate(RECORD_EVENTS)
        tile = page.locator(tile_selector)

        def same_as_a_reload(status: str, word: str) -> None:
            expect(tile).to_have_attribute("data-status", status)
            rendered = page.evaluate(RENDERED, [base + "/dashboard", tile_selector])
            assert f"</i> {word}" in rendered["badge"]  # the reload did show that status
            assert tile.evaluate(DESCRIBE) == rendered

        record_state(server, "down", utcnow(), reason="connection refused")
        same_as_a_reload("down", "Down")
        expect(tile.locator("[data-field='reason']")).to_have_text("connection refused")

        now = utcnow()
        create_window(WindowIn(server_id=server.id, starts_at=now - timedelta(minutes=1),
                               ends_at=now + timedelta(hours=1), reason="patching"), user)
        same_as_a_reload("maintenance", "Maintenance")
        expect(tile.locator("[data-field='reason']")).to_have_count(0)
        expect(page.locator("[data-count='maintenance']")).to_have_text("1")

        record_state(server, "up", utcnow())  # the log moves; the window still outranks it
        page.wait_for_function(UP_AGAIN)
        same_as_a_reload("maintenance", "Maintenance")
        assert problems == [], problems


def test_a_page_with_only_the_core_takes_status_events_quietly(portal):
    from playwright.sync_api import expect

    base, _ = portal
    user, server = _cast("admin")  # who may open Settings
    with chromium_page() as (page, problems):
        sign_in(page, base, user.username, "/settings")
        assert page.evaluate(LIVE_SCRIPTS) == ["/static/live/core.js"]
        expect(page.locator("body")).to_have_attribute("data-live-state", "live")
        page.evaluate(RECORD_EVENTS)
        record_state(server, "down", utcnow(), reason="disk full")
        announcer = page.locator("[data-live-announcer]")
        expect(announcer).to_have_text(f"Server {server.id} is down: disk full")  # no name here
        assert page.evaluate("window.statusEvents.length") == 1  # charts.js would hear it
        assert problems == [], problems


def test_the_logs_page_lists_a_change_only_when_the_log_stored_one(portal):
    from playwright.sync_api import expect

    base, user = portal  # it_staff: Server Logs
    _, server = _cast()
    record_state(server, "up", utcnow())
    with chromium_page() as (page, problems):
        sign_in(page, base, user.username, "/logs")
        assert page.evaluate(LIVE_SCRIPTS) == ["/static/live/core.js", "/static/live/logs.js"]
        expect(page.locator("body")).to_have_attribute("data-live-state", "live")
        banner = page.locator("[data-live-log] [data-live-banner]")
        # As when a maintenance window is cut short: the status to show moved, the log did not.
        publish("status", {"server_id": server.id, "status": "down", "reason": "refused",
                           "latency_ms": None, "last_checked": utcnow().isoformat(),
                           "status_since": utcnow().isoformat(), "change": None})
        expect(page.locator("[data-live-announcer]")).to_have_text("ledger-db is down: refused")
        expect(banner).to_have_count(0)
        record_state(server, "down", utcnow(), reason="disk full")
        expect(banner).to_contain_text("ledger-db went down: disk full")
        expect(banner.locator("li")).to_have_count(1)
        record_state(server, "up", utcnow())
        expect(banner.locator("li").first).to_have_text("ledger-db came back up")
        banner.get_by_role("link", name="Reload the page").click()
        expect(page).to_have_url(base + "/logs")
        assert problems == [], problems
