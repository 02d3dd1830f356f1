"""One outage, told the same way by every page at every step (issue 14): the dashboard
tile, the server's page, the Alerts page and the bell, each driven by the events the back
end publishes as it does in production. The probe's changes go through the ingest code
(``record_state``), the incident through the webhook's own ``receive_alerts``; the pages
are never reloaded.

  1. the probes say down, Alertmanager has said nothing: down since ..., incident opening
  2. the incident opens: it is on the Alerts page (added live), the bell counts it
  3. the probes say up: the tile is green; the incident reads recovered, closing
  4. Alertmanager resolves it: it is a past incident, nothing is open
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.incidents.schemas import WebhookIn
from portal.incidents.service import acknowledge, receive_alerts
from portal.notify.models import UserNotification
from portal.settings.service import update_settings
from tests.browser.test_live_updates import _cast
from tests.factories import make_incident, make_server, record_state
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser

NAIROBI = "Africa/Nairobi"  # UTC+3, "EAT" on every page


def _alert(server, starts: datetime, ends: datetime | None = None) -> WebhookIn:
    zulu = "%Y-%m-%dT%H:%M:%S.%fZ"
    alert = {"status": "resolved" if ends else "firing",
             "labels": {"alertname": "ServerDown", "severity": "critical", "server_id": str(server.id),
                        "server": server.name, "kind": server.kind},
             "annotations": {"summary": f"{server.name} is down"},
             "startsAt": starts.astimezone(UTC).strftime(zulu),
             "endsAt": ends.astimezone(UTC).strftime(zulu) if ends else "0001-01-01T00:00:00Z",
             "generatorURL": "http://prometheus/graph", "fingerprint": f"fp{server.id:014d}"}
    return WebhookIn.model_validate({
        "version": "4", "groupKey": "{}:{alertname=\"ServerDown\"}", "truncatedAlerts": 0,
        "status": alert["status"], "receiver": "portal", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": [alert]})


def _eat(moment: datetime) -> str:
    return (moment + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S EAT")


def _bell_entries(user) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(UserNotification.id))
                             .where(UserNotification.user_id == user.id, UserNotification.read_at.is_(None)))


def test_tile_server_page_alerts_and_bell_tell_one_story(portal):
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    user, server = _cast("it_staff")
    update_settings({"timezone": NAIROBI}, None)
    record_state(server, "up", utcnow() - timedelta(hours=1))
    earlier = make_server("archive-db")  # a past incident, so the Alerts page has its lists
    make_incident(earlier, utcnow() - timedelta(days=2), utcnow() - timedelta(days=2) + timedelta(minutes=4))

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(8000)
        dashboard = context.new_page()
        sign_in(dashboard, base, user.username)
        detail, alerts = context.new_page(), context.new_page()
        for page in (dashboard, alerts):
            watch_console(page, problems)
        # The server page's charts ask Prometheus, which this test does not run (503s).
        detail.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
        detail.goto(f"{base}/servers/{server.id}")
        alerts.goto(base + "/alerts")
        for page in (dashboard, detail, alerts):
            expect(page.locator("body")).to_have_attribute("data-live-state", "live")
            page.evaluate("window.stillTheSamePage = true")

        tile = dashboard.locator(f"article[data-server-id='{server.id}']")
        card = detail.locator(f"[data-server-id='{server.id}'][data-status]").first
        opening = alerts.locator(f"[data-opening-server='{server.id}']")
        row_of_server = alerts.locator(
            f"[data-incident-list='open-incidents'] tr[data-server-id='{server.id}']")
        past = alerts.locator("[data-incident-list='past-incidents'] tbody tr")
        recent = detail.get_by_test_id("recent-incidents")
        detail_opening = recent.locator("[data-opening-line]")
        detail_rows = recent.locator("[data-recent-table] tbody tr")
        expect(recent.get_by_test_id("no-incidents")).to_be_visible()

        def bells(count: int) -> None:
            for page in (dashboard, detail, alerts):
                badge = page.get_by_test_id("bell").locator("[data-unread-count]")
                if count:
                    expect(badge).to_have_text(str(count))
                else:
                    expect(badge).to_be_hidden()

        def open_badges(count: int) -> None:
            expect(alerts.get_by_test_id("open-count")).to_have_text(str(count))
            for page in (dashboard, detail, alerts):
                badge = page.locator("[data-open-incidents]")
                if count:
                    expect(badge.locator("[data-open-count]")).to_have_text(str(count))
                else:
                    expect(badge).to_be_hidden()

        # 1. The probes say down; no incident yet.
        down_at = utcnow().replace(microsecond=0) - timedelta(seconds=3)
        record_state(server, "down", down_at, reason="connection refused")
        expect(tile).to_have_attribute("data-status", "down")
        expect(card).to_have_attribute("data-status", "down")
        expect(opening).to_contain_text(f"Down since {_eat(down_at)}, incident opening")
        expect(opening).to_contain_text("ledger-db")
        expect(opening).to_contain_text("connection refused")
        expect(row_of_server).to_have_count(0)
        expect(detail_opening).to_have_text(f"Down since {_eat(down_at)}, incident opening")
        expect(detail_rows).to_have_count(0)
        bells(0)
        open_badges(0)

        # 2. Alertmanager's ServerDown reaches the webhook: the incident opens.
        receive_alerts(_alert(server, down_at + timedelta(seconds=20)))
        expect(row_of_server).to_have_count(1)
        expect(opening).to_have_count(0)
        expect(alerts.locator("[data-opening-section]")).to_be_hidden()
        expect(row_of_server.locator("[data-ended-cell]")).to_contain_text("Ongoing")
        expect(row_of_server).to_contain_text(_eat(down_at))  # started at the probe's down-event
        expect(row_of_server).to_contain_text("connection refused")
        expect(tile).to_have_attribute("data-status", "down")
        expect(detail_opening).to_be_hidden()
        expect(detail_rows).to_have_count(1)
        expect(detail_rows.first.get_by_test_id("ongoing")).to_be_visible()
        expect(detail_rows.first).to_contain_text(_eat(down_at))
        expect(recent.get_by_test_id("no-incidents")).to_be_hidden()
        unread = _bell_entries(user)
        assert unread >= 1
        bells(unread)
        open_badges(1)

        # 3. The probes say up: green everywhere at once; the incident waits for its resolution.
        up_at = utcnow().replace(microsecond=0)
        record_state(server, "up", up_at)
        expect(tile).to_have_attribute("data-status", "up")
        expect(card).to_have_attribute("data-status", "up")
        expect(row_of_server.get_by_test_id("closing")).to_have_text(
            f"Recovered at {_eat(up_at)}, incident closing")
        expect(opening).to_have_count(0)
        expect(detail_rows.first.get_by_test_id("closing")).to_have_text(
            f"Recovered at {_eat(up_at)}, incident closing")
        open_badges(1)

        # What the live page says is what a reload says.
        rendered = alerts.evaluate("""async (id) => {
          const html = await (await fetch('/alerts', {credentials: 'same-origin'})).text();
          const doc = new DOMParser().parseFromString(html, 'text/html');
          const row = doc.querySelector(`[data-incident-list='open-incidents'] tr[data-server-id='${id}']`);
          return row.querySelector("[data-testid='closing']").textContent.replace(/\\s+/g, ' ').trim();
        }""", server.id)
        assert rendered == f"Recovered at {_eat(up_at)}, incident closing"

        # 4. Alertmanager resolves it: the incident closes at the probe's up-event.
        receive_alerts(_alert(server, down_at + timedelta(seconds=20), up_at + timedelta(seconds=30)))
        expect(row_of_server).to_have_count(0)
        expect(past.first).to_have_attribute("data-server-id", str(server.id))
        expect(past.first.locator("[data-ended-cell]")).to_contain_text(_eat(up_at))
        expect(alerts.get_by_test_id("no-open")).to_be_visible()
        expect(tile).to_have_attribute("data-status", "up")
        expect(detail_rows).to_have_count(1)
        expect(detail_rows.first.locator("[data-ended-cell]")).to_contain_text(_eat(up_at))
        expect(detail_rows.first.locator("[data-ended-cell]")).to_contain_text("lasted")
        open_badges(0)
        bells(_bell_entries(user))

        for page in (dashboard, detail, alerts):
            assert page.evaluate("window.stillTheSamePage") is True
        expect(alerts.locator("[data-live-banner]")).to_have_count(0)
        assert problems == [], problems
        browser.close()


def test_what_the_page_cannot_place_is_counted_and_loaded_in_place(portal):
    """A day filter: the page cannot tell whether a new incident belongs, so it counts it on
    the button, which loads the lists in place; an acknowledgement shows in its row live."""
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    user, server = _cast("it_staff")
    update_settings({"timezone": NAIROBI}, None)
    earlier = make_server("archive-db")
    make_incident(earlier, utcnow() - timedelta(hours=2), utcnow() - timedelta(hours=1))
    today = (utcnow() + timedelta(hours=3)).strftime("%Y-%m-%d")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(8000)
        watch_console(page, problems)
        sign_in(page, base, user.username, f"/alerts?from={today}")
        expect(page.locator("body")).to_have_attribute("data-live-state", "live")
        page.evaluate("window.stillTheSamePage = true")
        down_at = utcnow().replace(microsecond=0)
        record_state(server, "down", down_at, reason="connection refused")
        receive_alerts(_alert(server, down_at + timedelta(seconds=20)))
        button = page.get_by_test_id("live-new")
        expect(button).to_have_text("1 new or changed: show")
        row = page.locator(f"[data-incident-list='open-incidents'] tr[data-server-id='{server.id}']")
        expect(row).to_have_count(0)
        button.click()
        expect(row).to_have_count(1)
        expect(button).to_be_hidden()
        assert page.evaluate("window.stillTheSamePage") is True

        db.session.expire_all()
        incident = db.session.scalar(select(Incident).where(Incident.server_id == server.id))
        acknowledge(incident, "on it", user)
        expect(row.get_by_test_id("acknowledged")).to_contain_text(f"by {user.username}")
        expect(row.get_by_test_id("acknowledged")).to_contain_text("on it")
        expect(row.locator("input[name='ids']")).to_have_count(0)
        expect(button).to_be_hidden()  # placed, not counted
        assert problems == [], problems
        browser.close()


def test_the_first_incident_ever_appears_on_an_empty_alerts_page_by_itself(portal):
    """Seen on a fresh install: the Alerts page with no incident yet had no lists to add the
    first one to, so it offered "1 new or changed: show" instead of showing it."""
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    user, server = _cast("it_staff")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(8000)
        watch_console(page, problems)
        sign_in(page, base, user.username, "/alerts")
        expect(page.get_by_text("No incidents recorded yet")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-live-state", "live")
        page.evaluate("window.stillTheSamePage = true")
        down_at = utcnow().replace(microsecond=0)
        record_state(server, "down", down_at, reason="connection refused")
        expect(page.get_by_test_id("opening")).to_contain_text("incident opening")
        receive_alerts(_alert(server, down_at + timedelta(seconds=20)))
        row = page.locator(f"[data-incident-list='open-incidents'] tr[data-server-id='{server.id}']")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("ongoing")).to_be_visible()
        expect(page.get_by_test_id("live-new")).to_be_hidden()
        expect(page.get_by_text("No incidents recorded yet")).to_have_count(0)
        assert page.evaluate("window.stillTheSamePage") is True
        assert problems == [], problems
        browser.close()
