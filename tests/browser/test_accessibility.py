"""Accessibility, keyboard use and small screens, in Chromium against the real portal.

- axe-core (an npm dev dependency, injected by the test and never served by the portal)
  audits every page, filled with data and in its error states, against WCAG 2.1 A and AA.
- A keyboard-only session signs in, skips to the content, follows the navigation and signs
  out, and every element it lands on shows where the focus is.
- At phone width no page scrolls sideways, and the navigation opens from its button.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from tests.factories import PASSWORD, make_incident, make_server, make_user, record_state
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, sign_in, watch_console

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.help}: ` +
    v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
}"""
# What the focused element shows: an outline, or Bootstrap's focus ring (a box shadow).
FOCUS_SHOWN = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || style.boxShadow !== "none";
}"""
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def fleet(portal):
    """An administrator, and servers in every state with incidents, so pages are audited
    with their tables, badges and charts filled, not only their empty states."""
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run script/bootstrap")
    base, _ = portal
    admin = make_user("admin", username="a11y.admin")
    now = utcnow()
    up = make_server("core-banking", environment="production", group="payments")
    down = make_server("atm-switch", kind="tcp", environment="production", group="channels")
    make_server("hr-portal", kind="icmp", environment="staging")
    paused = make_server("old-ledger", kind="dns", environment="staging")
    paused.enabled = False
    db.session.commit()
    record_state(up, "up", now - timedelta(hours=2))
    record_state(down, "down", now - timedelta(minutes=20), reason="connection refused <b>")
    make_incident(down, now - timedelta(minutes=19), reason="connection refused")
    make_incident(up, now - timedelta(days=1), now - timedelta(days=1, minutes=-7))
    return base, admin, up, down


def pages(up, down, admin) -> list[str]:
    return ["/dashboard", "/dashboard?status=down", "/servers", "/servers/new",
            f"/servers/{down.id}", f"/servers/{up.id}/edit", f"/servers/{up.id}/delete",
            "/alerts", f"/alerts?server={down.id}", "/logs", f"/logs?server={down.id}&from=x",
            "/maintenance", "/notifications", "/reports", "/runbooks", "/runbooks/ServerDown",
            "/settings", "/system", "/admin", "/admin/users/new", f"/admin/users/{admin.id}/edit",
            "/profile", "/query?query=up"]


def audit(page) -> list[str]:
    page.wait_for_load_state("load")
    return page.evaluate(RUN_AXE, WCAG)


def test_every_page_passes_axe_with_data_and_errors(fleet):
    from playwright.sync_api import sync_playwright

    base, admin, up, down = fleet
    problems: dict[str, list[str]] = {}
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))  # through DevTools: the portal's CSP stays on
            context.set_default_timeout(5000)
            page = context.new_page()

            page.goto(base + "/login")
            problems["/login"] = audit(page)
            page.get_by_label("Username").fill(admin.username)
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("button", name="Sign in").click()
            problems["/login (refused)"] = audit(page)

            sign_in(page, base, admin.username)
            watch_console(page, console)
            for path in pages(up, down, admin):
                page.goto(base + path)
                problems[path] = audit(page)

            browsing = len(console)
            page.goto(base + "/servers/new")
            page.get_by_test_id("save-server").click()  # nothing filled in: every error shown
            problems["/servers/new (errors)"] = audit(page)
            page.goto(base + "/admin/users/new")
            page.get_by_test_id("save-user").click()
            problems["/admin/users/new (errors)"] = audit(page)
        finally:
            browser.close()
    found = {path: found for path, found in problems.items() if found}
    assert found == {}, "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)
    # The chart API answers 503 (no Prometheus in this test); nothing else may complain but
    # the two forms sent empty (novalidate: the server reports every field), answered 400.
    assert [line for line in console[:browsing] if "status of 503" not in line] == []
    assert [line for line in console[browsing:]
            if "status of 503" not in line and "status of 400" not in line] == []


def test_a_keyboard_alone_signs_in_moves_around_and_signs_out(fleet):
    from playwright.sync_api import expect, sync_playwright

    base, admin, _, _ = fleet
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(5000)
            keys = page.keyboard

            page.goto(base + "/login")  # the username field has the focus: just type
            expect(page.get_by_label("Username")).to_be_focused()
            keys.type(admin.username)
            keys.press("Tab")
            assert page.evaluate("document.activeElement.name") == "password"
            keys.type(PASSWORD)
            keys.press("Enter")
            expect(page).to_have_url(base + "/dashboard")
            # The URL turns before the new document is parsed; a Tab pressed then lands in
            # the old one (seen once in CI, under the PostgreSQL and SQLite passes at once).
            page.wait_for_load_state("load")

            keys.press("Tab")  # the first stop is the skip link, shown once it has the focus
            skip = page.get_by_role("link", name="Skip to content")
            expect(skip).to_be_focused()
            assert skip.bounding_box()["width"] > 10 and page.evaluate(FOCUS_SHOWN)
            keys.press("Enter")
            keys.press("Tab")
            assert page.evaluate("document.activeElement.closest('main') !== null")

            tab_to(page, "nav[aria-label=Main] a[href='/servers']", backwards=True)
            keys.press("Enter")
            expect(page).to_have_url(base + "/servers")
            expect(page.locator("nav[aria-label=Main] a[aria-current=page]")).to_have_text("Servers")

            tab_to(page, "#user-menu")
            keys.press("Enter")
            expect(page.locator("#user-menu")).to_have_attribute("aria-expanded", "true")
            for _ in range(4):
                keys.press("ArrowDown")
                if page.evaluate("document.activeElement.dataset.testid") == "logout":
                    break
            expect(page.get_by_test_id("logout")).to_be_focused()
            keys.press("Enter")
            expect(page).to_have_url(base + "/login")
        finally:
            browser.close()


def tab_to(page, selector: str, backwards: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until ``selector`` has the focus; every stop on the way must
    show the focus, or a keyboard user would be lost."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        where = page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
        assert page.evaluate(FOCUS_SHOWN), f"no visible focus on {where}"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {limit} presses of Tab")


def test_on_a_phone_pages_fit_and_the_navigation_opens_from_its_button(fleet):
    from playwright.sync_api import expect, sync_playwright

    base, admin, up, down = fleet
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
            page.set_default_timeout(5000)
            # Not to /dashboard: a phone whose user has not chosen is sent on to its fleet view.
            sign_in(page, base, admin.username, path="/servers")
            wide = {}
            for path in pages(up, down, admin):
                page.goto(base + path)
                page.wait_for_load_state("load")
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    wide[path] = overflow
            assert wide == {}, f"pages wider than a {PHONE['width']} px phone (px too wide): {wide}"

            page.goto(base + "/dashboard")
            main_nav = page.get_by_role("navigation", name="Main")
            expect(main_nav).to_be_hidden()
            page.get_by_role("button", name="Open navigation").tap()
            expect(main_nav).to_be_visible()
            main_nav.get_by_role("link", name="Alerts").tap()
            expect(page).to_have_url(base + "/alerts")
        finally:
            browser.close()
