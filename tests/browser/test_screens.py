"""The screens of issue 14 in Chromium: the top bar stays one line on a phone, no page
scrolls sideways at 390 px (nor the API docs at 1366 px), and dark mode follows the
browser's preference, from the first paint on, passing axe in both colour modes with the
Alerts page's "incident opening" and "closing" rows, a linked notification and the API
docs' field lists on screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify.models import UserNotification
from portal.settings.service import update_settings
from tests.browser.test_accessibility import AXE, PHONE, RUN_AXE, WCAG
from tests.factories import make_incident, make_server, make_user, record_state
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser

OWNED_PAGES = ["/alerts", "/notifications", "/api-docs", "/maintenance", "/logs", "/reports",
               "/settings", "/admin", "/profile"]
# Every part of the top bar sits on one row: same vertical middle, within a few pixels.
BAR_ROWS = """() => {
  const bar = document.querySelector('nav.navbar-top');
  const parts = [...bar.querySelectorAll('.navbar-brand, [data-bell], #user-menu, [aria-controls=sidebar]')]
    .filter(el => el.offsetParent !== null);
  const middles = parts.map(el => { const r = el.getBoundingClientRect(); return r.top + r.height / 2; });
  return {count: parts.length, spread: Math.max(...middles) - Math.min(...middles),
          height: bar.getBoundingClientRect().height};
}"""
WIDER_THAN_MAIN = """() => {
  const main = document.querySelector('main');
  const edge = main.getBoundingClientRect().right + 1;
  return [...main.querySelectorAll('*')].filter(el => {
    if (el.closest('.table-responsive, pre, .offcanvas-lg')) { return false; }
    return el.getBoundingClientRect().right > edge;
  }).slice(0, 5).map(el => el.outerHTML.slice(0, 100));
}"""


@pytest.fixture
def screens(portal):
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run script/bootstrap")
    base, _ = portal
    admin = make_user("admin", username="a.rather.long.username.for.a.phone")
    now = utcnow()
    back = make_server("core-banking")
    opening = make_server("branch-vpn", kind="tcp")
    record_state(back, "down", now - timedelta(minutes=6), reason="timeout")
    make_incident(back, now - timedelta(minutes=6), reason="timeout")
    record_state(back, "up", now - timedelta(minutes=1))  # recovered, closing
    record_state(opening, "down", now - timedelta(seconds=20), reason="connection refused")
    make_incident(back, now - timedelta(days=1), now - timedelta(days=1, minutes=-5))
    db.session.add(UserNotification(user_id=admin.id, state="firing", title="DOWN: core-banking",
                                    body="core-banking is down.\nDetails: https://servermon.example/alerts?incident=1",
                                    created_at=now))
    db.session.commit()
    return base, admin


def test_on_a_phone_the_bar_is_one_line_and_no_page_scrolls_sideways(screens):
    from playwright.sync_api import sync_playwright

    base, admin = screens
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Not is_mobile: a mobile viewport zooms out to fit a too wide page, hiding it.
            page = browser.new_page(viewport=PHONE)
            page.set_default_timeout(5000)
            sign_in(page, base, admin.username, "/alerts")
            wide, bars = {}, {}
            for path in OWNED_PAGES:
                page.goto(base + path)
                page.wait_for_load_state("load")
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    wide[path] = overflow
                bar = page.evaluate(BAR_ROWS)
                if bar["count"] < 4 or bar["spread"] > 4 or bar["height"] > 70:
                    bars[path] = bar
            assert wide == {}, f"pages wider than a {PHONE['width']} px phone (px too wide): {wide}"
            assert bars == {}, f"the top bar is not one line: {bars}"
        finally:
            browser.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_the_api_docs_fit_the_screen_and_show_a_bodys_fields(screens, width):
    from playwright.sync_api import expect, sync_playwright

    base, admin = screens
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(5000)
            sign_in(page, base, admin.username, "/api-docs")
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            assert page.evaluate(WIDER_THAN_MAIN) == []
            window = page.locator("[data-api-route='POST /api/maintenance']")
            expect(window.get_by_role("heading", name="Body (WindowIn)")).to_be_visible()
            expect(window.get_by_test_id("body-fields")).to_contain_text("starts_at")
            expect(window.locator(".api-field").first).to_be_visible()
            description = window.locator("p").first.bounding_box()
            assert description["width"] > min(width, 1000) * 0.5  # not one word wide
        finally:
            browser.close()


def test_dark_mode_follows_the_browser_and_passes_axe_in_both_modes(screens):
    from playwright.sync_api import expect, sync_playwright

    base, admin = screens
    found: dict[str, list[str]] = {}
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(color_scheme="dark", viewport={"width": 1366, "height": 900})
            context.add_init_script(path=str(AXE))
            context.set_default_timeout(5000)
            page = context.new_page()
            sign_in(page, base, admin.username, "/alerts")
            watch_console(page, console)
            # Dark before the first paint: the attribute is set by the time the body parses.
            page.goto(base + "/alerts", wait_until="commit")
            page.wait_for_selector("body")
            assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == "dark"
            expect(page.get_by_test_id("opening")).to_contain_text("branch-vpn")
            expect(page.get_by_test_id("closing")).to_contain_text("incident closing")
            for scheme in ("dark", "light"):
                page.emulate_media(color_scheme=scheme)
                expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)  # live
                for path in ["/alerts", "/notifications", "/api-docs", "/dashboard", "/maintenance"]:
                    page.goto(base + path)
                    expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)
                    page.wait_for_load_state("load")
                    if violations := page.evaluate(RUN_AXE, WCAG):
                        found[f"{path} ({scheme})"] = violations
            page.goto(base + "/notifications")
            link = page.get_by_role("link", name="https://servermon.example/alerts?incident=1")
            expect(link).to_have_attribute("href", "https://servermon.example/alerts?incident=1")
        finally:
            browser.close()
    assert found == {}, "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)
    assert [line for line in console if "status of 503" not in line] == []


def test_grafana_panels_follow_the_colour_mode(screens):
    """The server renders theme=light; a dark page asks Grafana for its dark theme."""
    from playwright.sync_api import expect, sync_playwright

    base, admin = screens
    update_settings({"grafana_url": "https://grafana.bank.example"}, None)
    server = make_server("with-panels")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(color_scheme="dark")
            context.route("https://grafana.bank.example/**", lambda route: route.fulfill(body=""))
            page = context.new_page()
            page.set_default_timeout(5000)
            sign_in(page, base, admin.username, f"/servers/{server.id}")
            panels = page.locator("iframe.grafana-panel")
            expect(panels.first).to_have_attribute("src", re.compile(r"[?&]theme=dark(&|$)"))
            page.emulate_media(color_scheme="light")
            expect(panels.first).to_have_attribute("src", re.compile(r"[?&]theme=light(&|$)"))
        finally:
            browser.close()
