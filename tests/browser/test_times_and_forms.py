"""Times and forms as an operator sees them in Chromium: the server page's charts label
their time axis and legend in the portal's zone (set in the settings, not the browser's),
24-hour, with the zone's abbreviation; the server form shows every bad field's error at
once, beside that field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import make_config
from tests.factories import make_server, make_user
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser
NAIROBI = ZoneInfo("Africa/Nairobi")


@pytest.fixture
def config(migrated, prometheus):
    return make_config(migrated, PROMETHEUS_URL=prometheus)


def _expected_tick(seconds: float, increment: float, previous_day: str | None) -> tuple[str, str]:
    local = datetime.fromtimestamp(seconds, UTC).astimezone(NAIROBI)
    day = local.strftime("%Y-%m-%d")
    if increment >= 86400:
        return local.strftime("%m-%d"), day
    text = local.strftime("%H:%M:%S" if increment < 60 else "%H:%M")
    return (text + ("\n" + local.strftime("%m-%d") if day != previous_day else "")), day


def test_chart_axes_and_legend_use_24_hour_times_in_the_configured_zone(portal):
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    admin = make_user("admin", username="zone.admin")
    server = make_server("cbs")
    assert server.id == 1  # the id the metrics page speaks for
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # The browser is in New York; the portal is set to Nairobi below.
            page = browser.new_context(timezone_id="America/New_York", locale="en-US").new_page()
            page.set_default_timeout(8000)
            watch_console(page, problems)
            sign_in(page, base, admin.username, "/settings")
            page.get_by_label("Time zone").select_option("Africa/Nairobi")
            page.get_by_test_id("save-settings").click()
            expect(page.get_by_label("Time zone")).to_have_value("Africa/Nairobi")

            page.goto(f"{base}/servers/1")
            history = page.locator("[data-charts]")
            expect(history).to_have_attribute("data-charts-state", "ready")
            latency = history.locator("[data-chart='latency']")
            expect(latency.locator("canvas")).to_have_count(1)
            axis = latency.evaluate("""holder => ({
                label: holder.uplot.axes[0].label,
                splits: holder.uplot.axes[0]._splits,
                values: holder.uplot.axes[0]._values,
                incr: holder.uplot.axes[0]._found[0],
            })""")
            assert axis["label"] == "Time (EAT)"  # one zone label, its abbreviation
            assert axis["values"] and len(axis["values"]) == len(axis["splits"])
            previous = None
            for seconds, shown in zip(axis["splits"], axis["values"], strict=True):
                expected, previous = _expected_tick(seconds, axis["incr"], previous)
                assert shown == expected, (seconds, shown, expected)
            # A 24 h axis spans the afternoon: 24-hour clocks show 13:00 and later, not 1 pm.
            hours = [int(value[:2]) for value in axis["values"]]
            assert any(hour >= 13 for hour in hours), axis["values"]
            assert not any(re.search(r"[ap]m", value, re.I) for value in axis["values"])

            # The legend under the cursor: the full time, with seconds, in Nairobi.
            plot = latency.locator(".u-over")
            plot.scroll_into_view_if_needed()
            box = plot.bounding_box()
            plot.hover(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
            plot.hover(position={"x": box["width"] - 2, "y": box["height"] / 2})
            legend_time = latency.locator(".u-legend .u-series").first.locator(".u-value")
            expect(legend_time).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} EAT$"))
            shown = legend_time.text_content()
            moment = datetime.strptime(shown[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=NAIROBI)
            assert abs((moment - datetime.now(UTC)).total_seconds()) < 15 * 60  # the right-hand end

            # The page's own times use the same label: the server was added "... EAT".
            expect(page.locator("#about-heading + dl")).to_contain_text(" EAT")
            assert "GMT+3" not in page.content()
        finally:
            browser.close()
    assert not problems, problems


def test_a_server_form_with_several_bad_fields_shows_each_error_beside_its_field(portal):
    from playwright.sync_api import expect, sync_playwright

    base, _ = portal
    user = make_user("it_staff", username="form.filler")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(8000)
            problems: list[str] = []
            watch_console(page, problems)
            sign_in(page, base, user.username, "/servers/new")
            page.locator("#f-name").fill("ebanking")
            page.locator("#f-target").fill("ebanking.bank.example/health")
            page.locator("#f-interval_s").fill("5")
            page.locator("#f-timeout_s").fill("90")
            page.get_by_test_id("save-server").click()

            expect(page.get_by_test_id("form-error")).to_be_visible()
            expected = {
                "target": "Enter a URL starting with http:// or https://",
                "interval_s": "Must be at least 10 seconds",
                "timeout_s": "Must be at most 60 seconds",
            }
            for name, message in expected.items():
                field = page.locator(f"#f-{name}")
                error = page.locator(f"#f-{name}-error")
                expect(error).to_be_visible()
                expect(error).to_have_text(message)
                expect(field).to_have_class(re.compile(r"\bis-invalid\b"))
                expect(field).to_have_attribute("aria-describedby", re.compile(rf"\bf-{name}-error\b"))
                # Beside its field: in the same group, right under the input.
                assert field.evaluate("(input, id) => input.parentElement.contains("
                                      "document.getElementById(id))", f"f-{name}-error")
                field_box, error_box = field.bounding_box(), error.bounding_box()
                assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40
            # What the user typed is still there to correct.
            expect(page.locator("#f-interval_s")).to_have_value("5")
        finally:
            browser.close()
    # The refused form comes back as a 400, which Chromium logs; nothing else may appear.
    assert [problem for problem in problems if "status of 400" not in problem] == [], problems
