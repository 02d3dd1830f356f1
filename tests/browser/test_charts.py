"""Charts in Chromium, from the real Prometheus through the portal: tile sparklines, status
strips and uptime gauges on the dashboard (redrawn when the WebSocket reports a change),
the server page's history for each range, and the PromQL page's chart, all without
console errors or CSP violations (uPlot is served locally)."""

from __future__ import annotations

import re

import pytest

from portal.charts.uptime import refresh_uptime
from portal.dbtypes import utcnow
from portal.realtime.publish import publish
from tests.conftest import make_config
from tests.factories import make_server, make_user
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser


@pytest.fixture
def config(migrated, prometheus):
    """The portal (test app and gunicorn alike) reads this Prometheus."""
    return make_config(migrated, PROMETHEUS_URL=prometheus)


def test_dashboard_server_page_and_query_page_draw_their_charts(portal):
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    user = make_user("developer", username="chart.viewer")
    server = make_server("cbs")
    assert server.id == 1  # the id the metrics page speaks for
    assert refresh_uptime() == 1  # as the worker does every minute
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(8000)
            watch_console(page, problems)
            sign_in(page, base, user.username)

            tile = page.locator("article[data-server-id='1']")
            expect(page.locator("body")).to_have_attribute("data-sparklines", "ready")
            expect(tile.locator("[data-sparkline] canvas")).to_have_count(1)
            # cbs was added moments ago: its figure says what little time it covers.
            expect(tile.locator("[data-uptime-gauge]")).to_have_attribute(
                "aria-label", re.compile(r"^Uptime over \d+ s \(monitored so far\): 100 %$"))
            expect(tile.locator("[data-gauge-label]")).to_have_text("100%")
            strip = tile.locator("[data-status-strip]")
            expect(strip.locator(".strip-up").first).to_be_visible()
            expect(strip).to_have_attribute("data-down-minutes", "0")
            expect(page.locator("body")).to_have_attribute("data-live-state", "live")
            with page.expect_request(lambda request: "/api/charts/fleet?ids=1" in request.url,
                                     timeout=15000):  # a status change refreshes the tiles' charts
                publish("status", {"server_id": 1, "status": "down", "previous": "up",
                                   "reason": "connection refused", "at": utcnow().isoformat()})

            page.goto(f"{base}/servers/1")
            history = page.locator("[data-charts]")
            expect(history).to_have_attribute("data-charts-state", "ready")
            for window in ("24h", "30d"):
                figure = history.locator(f"[data-availability='{window}']")
                expect(figure).to_have_text(re.compile(r"^100 %over \d+ s$"))
                expect(figure.locator("[data-availability-over]")).to_have_text(re.compile(r"^over \d+ s$"))
            expect(history.locator("[data-field='cert-expiry']")).to_contain_text("(2030-03-17)")
            expect(history.locator("[data-chart='latency'] canvas")).to_have_count(1)
            expect(history.locator("[data-chart='status'] canvas")).to_have_count(1)
            expect(history.locator("[data-chart='latency'] .u-legend")).to_contain_text("cbs")
            week = "/api/charts/latency?server_id=1&range=7d"
            with page.expect_response(lambda response: response.url.endswith(week)) as seen:
                history.get_by_text("7d", exact=True).click()
            assert seen.value.status == 200
            expect(history).to_have_attribute("data-charts-state", "ready")
            expect(history.locator("[data-chart='latency'] canvas")).to_have_count(1)

            page.goto(f"{base}/query")
            page.get_by_label("Expression").fill("probe_duration_seconds * 1000")
            page.get_by_label("Range").select_option("1h")
            page.get_by_role("button", name="Run").click()
            result = page.get_by_test_id("promql-result")
            expect(result).to_have_attribute("data-result-type", "matrix")
            expect(result.locator("[data-promql-chart] canvas")).to_have_count(1)
            expect(result.locator("[data-field='value']")).to_have_text("250")
            assert problems == [], problems
        finally:
            browser.close()
