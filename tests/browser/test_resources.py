"""The server page's resources in Chromium, from the real node_exporter through the real
Prometheus and the portal: a chart drawn for each resource and each range asked for, and
the warning badge following incident events, without console errors or CSP violations."""

from __future__ import annotations

import re

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.serialize import serialize_incident
from portal.realtime.publish import publish
from tests.conftest import make_config
from tests.factories import make_incident, make_server, make_user
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console
from tests.support.prometheus import scraping_nodes

pytestmark = pytest.mark.browser

CHARTS = ("cpu", "memory", "disk", "load", "network")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory):
    with scraping_nodes(tmp_path_factory.mktemp("nodes"), "1", "db-1") as found:
        yield found


@pytest.fixture
def config(migrated, nodes):
    return make_config(migrated, PROMETHEUS_URL=nodes[1])


def test_the_server_page_draws_its_resources_and_follows_its_warnings(portal, nodes):
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    user = make_user("customer_engagement", username="resource.viewer")
    server = make_server("db-1")
    assert server.id == 1  # the id the scrape target's labels speak for
    server.resources_endpoint = nodes[0]
    db.session.commit()
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(10000)
            watch_console(page, problems)
            sign_in(page, base, user.username, path="/servers/1")
            section = page.get_by_test_id("resources")
            expect(section).to_have_attribute("data-charts-state", "ready")
            for chart in CHARTS:
                expect(section.locator(f"[data-resource-chart='{chart}'] canvas")).to_have_count(1)
            expect(section.locator("[data-resource-chart='disk'] .u-legend")).to_contain_text("/")
            expect(section.locator("[data-resource-chart='network'] .u-legend")).to_contain_text(
                "received")
            week = "/api/charts/disk?server_id=1&range=7d"
            with page.expect_response(lambda response: response.url.endswith(week)) as seen:
                section.get_by_text("7d", exact=True).click()
            assert seen.value.status == 200
            expect(section).to_have_attribute("data-charts-state", "ready")

            holder = page.locator("h1 [data-warnings='1']")
            expect(holder.locator("[data-warning-badge]")).to_have_count(0)
            expect(page.locator("body")).to_have_attribute("data-live-state", "live")
            warning = make_incident(server, utcnow(), name="DiskFilling", severity="warning",
                                    summary="/var 93 % full")
            publish("incident", serialize_incident(warning))
            badge = holder.locator("[data-warning-badge]")
            expect(badge.locator("[data-warning-count]")).to_have_text("1")
            expect(badge).to_have_attribute("title", "1 open warning: DiskFilling: /var 93 % full")
            expect(badge).to_have_attribute(
                "href", re.compile(r"/alerts\?severity=warning&state=open&server=1$"))
            warning.ended_at = utcnow()
            db.session.commit()
            publish("incident", serialize_incident(warning))
            expect(badge).to_have_count(0)
            assert problems == [], problems
        finally:
            browser.close()
