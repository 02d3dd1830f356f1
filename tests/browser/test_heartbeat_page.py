"""A heartbeat server's page in Chromium: schedule and deadline, the ping URL with its
examples, a new URL through the confirming form, and the last runs with a log excerpt
opened; no console errors or CSP violations. The screenshot is left in the test's
tmp_path (heartbeat-page.png) for a person to look at."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.servers.ping_keys import ping_key
from tests.conftest import make_config
from tests.factories import make_server
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser


@pytest.fixture
def config(migrated, prometheus):
    return make_config(migrated, PROMETHEUS_URL=prometheus)


def test_the_heartbeat_page_shows_runs_and_renews_its_url(portal, client, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, user = portal  # it_staff: manages servers, reads logs
    job = make_server("eod-interest-accrual", kind="heartbeat", heartbeat_period_s=86400,
                      heartbeat_grace_s=1800, environment="production", group="core-banking")
    old = ping_key(job)
    runs_sent = (("/start", b"", "curl/8.5.0"), ("", b"accrued 120034 accounts\nOK\n", "curl/8.5.0"),
                 ("/start", b"", "curl/8.5.0"),
                 ("/3", b"ORA-01555: snapshot too old\n<script>x</script>", "curl/8.5.0"),
                 ("/start", b"", "PowerShell/7.4"), ("/0", b"", "PowerShell/7.4"))
    for suffix, body, agent in runs_sent:
        response = client.post(f"/ping/{old}{suffix}", data=body, headers={"User-Agent": agent})
        assert response.status_code == 200
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(10000)
            watch_console(page, problems)
            sign_in(page, base, user.username, path=f"/servers/{job.id}")
            card = page.get_by_test_id("heartbeat")
            expect(card.locator("[data-field='schedule']")).to_have_text("every 1 d")
            expect(card.locator("[data-field='deadline'] time")).to_have_count(1)
            runs = page.get_by_test_id("last-runs").locator("tbody tr")
            expect(runs).to_have_count(6)
            failed = runs.nth(2)
            expect(failed).to_have_attribute("data-ping-kind", "fail")
            failed.locator("summary").click()
            expect(failed.locator("[data-ping-body]")).to_have_text(
                "ORA-01555: snapshot too old\n<script>x</script>")
            expect(page.locator("[data-charts]")).to_have_attribute("data-charts-state", "ready")
            shown = page.locator("[data-field='ping-url']")
            expect(shown).to_have_text(re.compile(rf"/ping/{old}$"))
            page.screenshot(path=str(tmp_path / "heartbeat-page.png"), full_page=True)

            page.get_by_test_id("new-ping-url").click()
            page.get_by_test_id("confirm-new-ping-url").click()
            expect(page.get_by_role("alert")).to_contain_text("the old one no longer works")
            db.session.expire_all()
            new = ping_key(job)
            assert new != old
            expect(shown).to_have_text(re.compile(rf"/ping/{new}$"))
        finally:
            browser.close()
    assert client.get(f"/ping/{old}").status_code == 404
    assert problems == []
    print(f"screenshot: {tmp_path / 'heartbeat-page.png'}")
