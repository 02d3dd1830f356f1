"""A customer opens a public status page without signing in; staff manage pages. Both
pass axe, under the portal's CSP, and the customer's page works without JavaScript."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.status_pages.schemas import StatusPageIn
from portal.status_pages.service import create_page
from tests.browser.test_accessibility import AXE, audit
from tests.factories import make_incident, make_server, make_user, record_state
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser


@pytest.fixture
def status_page(portal):
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run script/bootstrap")
    base, user = portal
    web = make_server("ebank-web-01", target="https://10.9.8.7/health",
                      labels={"service": "cards"})
    switch = make_server("card-switch-02", labels={"service": "cards"})
    web.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    record_state(web, "up", utcnow())
    record_state(switch, "down", utcnow())
    make_incident(web, utcnow() - timedelta(days=3), utcnow() - timedelta(days=3, hours=-2))
    create_page(StatusPageIn.model_validate({
        "name": "E-Banking status", "slug": "ebanking", "public": True,
        "note": "Card payments are failing for some customers.",
        "components": [
            {"server_id": web.id, "display_name": "Online banking", "display_group": "Channels"},
            {"label": "service=cards", "display_name": "Card payments",
             "display_group": "Payments"}]}), make_user("it_staff"))
    return base, user


def test_a_customer_reads_the_public_page_without_signing_in(status_page):
    from playwright.sync_api import expect, sync_playwright

    base, user = status_page
    console: list[str] = []
    sockets: list[str] = []
    public_sockets: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            context.set_default_timeout(5000)
            page = context.new_page()
            watch_console(page, console)
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(base + "/status/ebanking")
            expect(page).to_have_url(base + "/status/ebanking")
            expect(page.get_by_test_id("banner")).to_contain_text("Partial outage")
            expect(page.get_by_test_id("note")).to_contain_text("Card payments are failing")
            expect(page.get_by_role("heading", name="Online banking")).to_be_visible()
            told = page.get_by_role("list", name="Online banking: daily availability, last 90 days")
            assert told.get_by_role("listitem").filter(has_text="120 min down").count() >= 1 or \
                told.get_by_role("listitem").filter(has_text="min down").count() == 2
            expect(page.locator(".status-bars").first.locator("i")).to_have_count(90)
            text = page.inner_text("body")
            assert "ebank-web-01" not in text and "10.9.8.7" not in text
            public_problems = audit(page)
            public_sockets = list(sockets)  # the staff pages below open the live socket

            sign_in(page, base, user.username, "/status-pages")
            expect(page.get_by_role("link", name="/status/ebanking")).to_be_visible()
            list_problems = audit(page)
            page.goto(base + "/status-pages/new")
            page.get_by_test_id("save-status-page").click()
            expect(page.get_by_test_id("form-error")).to_be_visible()
            form_problems = audit(page)

            plain = browser.new_context(java_script_enabled=False)
            bare = plain.new_page()
            bare.goto(base + "/status/ebanking")
            assert "Card payments" in bare.inner_text("body")
            plain.close()
        finally:
            browser.close()
    assert public_problems == [] and list_problems == [] and form_problems == []
    # The empty form is answered 400 on purpose; nothing else (no CSP refusal) may complain.
    assert [line for line in console if "status of 400" not in line] == []
    assert public_sockets == []
