"""The real portal under gunicorn, driven by Chromium: sign in, add a server, sign out.

After logout the saved cookies must be dead: a fresh browser context carrying them lands
on the sign-in page. The dashboard must load without console errors or CSP violations.
"""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, watch_console

pytestmark = pytest.mark.browser


def test_sign_in_add_a_server_see_it_then_logout_kills_the_cookies(portal):
    from playwright.sync_api import expect, sync_playwright

    base, user = portal
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(5000)
            page = context.new_page()
            watch_console(page, problems)

            page.goto(base + "/dashboard")
            expect(page).to_have_url(f"{base}/login?next=/dashboard")
            page.get_by_label("Username").fill(user.username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(base + "/dashboard")
            expect(page.get_by_text("No servers yet")).to_be_visible()

            page.get_by_test_id("add-first-server").click()
            page.get_by_role("textbox", name="Name", exact=True).fill("ledger-db")
            page.get_by_role("combobox", name="Kind of check").select_option("tcp")
            # Progressive enhancement: the HTTP section hides, the TCP one shows.
            expect(page.get_by_label("Follow redirects")).to_be_hidden()
            expect(page.get_by_label("Do a TLS handshake after connecting")).to_be_visible()
            page.get_by_role("textbox", name="Target").fill("ledger.bank.example:5432")
            page.get_by_label("Environment").fill("production")
            page.get_by_test_id("save-server").click()
            expect(page.get_by_text("Server ledger-db added.")).to_be_visible()
            # No Prometheus in this test: the server page's charts say so instead of breaking.
            expect(page.locator("[data-charts]")).to_have_attribute("data-charts-state", "error")
            expect(page.locator("[data-chart-error]")).to_contain_text(
                "Charts are unavailable: Prometheus is unreachable")

            problems.clear()  # the browser logs those 503 answers as errors
            page.goto(base + "/dashboard")
            tile = page.locator("article[data-server-id]")
            expect(tile).to_have_count(1)
            expect(tile).to_have_attribute("data-status", "unknown")
            expect(tile.get_by_role("link", name="ledger-db")).to_be_visible()
            expect(tile.get_by_text("Unknown")).to_be_visible()
            page.wait_for_load_state("load")
            assert problems == [], problems

            saved = context.cookies()
            assert {cookie["name"] for cookie in saved} >= {"access_token_cookie", "refresh_token_cookie"}
            control = browser.new_context()  # the copied cookies do work while the session lives
            control.add_cookies(saved)
            control_page = control.new_page()
            control_page.goto(base + "/dashboard")
            expect(control_page).to_have_url(base + "/dashboard")
            control.close()

            page.locator("#user-menu").click()
            page.get_by_test_id("logout").click()
            expect(page).to_have_url(base + "/login")
            context.close()

            replay = browser.new_context()
            replay.add_cookies(saved)
            again = replay.new_page()
            again.goto(base + "/dashboard")
            expect(again).to_have_url(f"{base}/login?next=/dashboard")
            expect(again.get_by_role("button", name="Sign in")).to_be_visible()
            replay.close()
        finally:
            browser.close()
