"""What a page does when its socket's session ends (portal/static/live/core.js): signed out
in another tab, it goes to the sign-in page and opens no more sockets; after a role change
it reconnects at once and stays live. Chromium against the portal under gunicorn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.factories import PASSWORD, make_user
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    chromium_page,
    gunicorn_portal,
    sign_in,
    watch_console,
)

pytestmark = pytest.mark.browser

BOUND_MS = 6000  # the socket's session check (2 s), a wake, the page's navigation


@pytest.fixture
def base(app, config, tmp_path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with gunicorn_portal(config, tmp_path / "portal.log") as address:
        yield address


def sockets_opened(page) -> list[str]:
    opened: list[str] = []
    page.on("websocket", lambda ws: opened.append(ws.url))
    return opened


def test_signing_out_in_another_tab_sends_the_page_to_sign_in_without_reconnecting(base):
    from playwright.sync_api import expect, sync_playwright

    user = make_user("it_staff")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()  # two tabs, one cookie jar
            context.set_default_timeout(5000)
            page = context.new_page()
            watch_console(page, problems)
            opened = sockets_opened(page)
            sign_in(page, base, user.username)
            expect(page.locator("body")).to_have_attribute("data-live-state", "live")
            other_tab = context.new_page()
            other_tab.goto(base + "/profile")
            other_tab.locator("#user-menu").click()
            other_tab.get_by_test_id("logout").click()
            expect(other_tab).to_have_url(base + "/login")
            expect(page).to_have_url(base + "/login?next=/dashboard", timeout=BOUND_MS)
            time.sleep(3)  # a page that kept reconnecting would have tried again by now
            assert len(opened) == 1, opened
            assert problems == [], problems
        finally:
            browser.close()


def test_after_a_role_change_the_page_goes_to_sign_in(base):
    """A role change ends the account's sessions (issue 15): the page is signed out at once
    and does not keep reconnecting."""
    from playwright.sync_api import expect

    admin = make_user("admin")
    user = make_user("it_staff")
    token = requests.post(f"{base}/api/auth/login", timeout=10,
                          json={"username": admin.username, "password": PASSWORD}).json()["access_token"]
    with chromium_page() as (page, problems):
        opened = sockets_opened(page)
        sign_in(page, base, user.username)
        expect(page.locator("body")).to_have_attribute("data-live-state", "live")
        response = requests.patch(f"{base}/api/users/{user.id}", json={"role": "flexipay_support"},
                                  headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
        expect(page).to_have_url(base + "/login?next=/dashboard", timeout=BOUND_MS)
        time.sleep(3)  # a page that kept reconnecting would have tried again by now
        assert len(opened) == 1, opened
        assert problems == [], problems
