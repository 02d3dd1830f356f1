"""Recurring maintenance on the Maintenance page, in Chromium: the form refuses what is
wrong field by field, saves a schedule whose next occurrences are listed in local time, and
the page (with a schedule, and in its error state) passes axe."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.incidents.models import MaintenanceSchedule, MaintenanceWindow
from tests.browser.test_accessibility import AXE, audit
from tests.factories import make_server
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, watch_console

pytestmark = pytest.mark.browser


def test_a_schedule_is_planned_from_the_form_and_the_page_passes_axe(portal):
    from playwright.sync_api import expect, sync_playwright

    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run script/bootstrap")
    base, user = portal
    make_server("core-db")
    console: list[str] = []
    problems: dict[str, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            context.set_default_timeout(5000)
            page = context.new_page()
            watch_console(page, console)
            sign_in(page, base, user.username, "/maintenance")
            form = page.get_by_test_id("schedule-form")

            form.get_by_label("Cron expression", exact=True).fill("0 2 * *")
            form.get_by_label("A cron expression", exact=True).check()
            form.get_by_label("Lasts (minutes)").fill("2")
            form.get_by_test_id("save-schedule").click()
            form = page.get_by_test_id("schedule-form")
            expect(form.locator('[data-field-error="cron"]')).to_contain_text("needs five fields")
            expect(form.locator('[data-field-error="s_server_id"]')).to_be_visible()
            expect(form.locator('[data-field-error="s_reason"]')).to_be_visible()
            expect(form.locator('[data-field-error="duration_min"]')).to_be_visible()
            expect(form.get_by_label("Cron expression", exact=True)).to_have_value("0 2 * *")
            problems["errors"] = audit(page)

            form.get_by_label("Weekly, on these days at a time", exact=True).check()
            form.get_by_label("Server", exact=True).select_option(label="core-db")
            form.get_by_label("Tue", exact=True).check()
            form.get_by_label("Sat", exact=True).check()
            form.get_by_label("Starts at", exact=True).fill("03:15")
            form.get_by_label("Lasts (minutes)").fill("60")
            form.get_by_label("Reason").fill("Backups <weekly>")
            form.get_by_test_id("save-schedule").click()

            expect(page.get_by_role("alert").filter(has_text="Recurring maintenance")) \
                .to_contain_text("saved")
            row = page.get_by_test_id("schedule-list").locator("tbody tr").first
            expect(row).to_contain_text("Tue, Sat at 03:15")
            expect(row).to_contain_text("Backups <weekly>")
            starts = row.get_by_test_id("next-starts").locator("li")
            expect(starts).to_have_count(3)
            for text in starts.all_inner_texts():
                assert text.split()[0] in ("Tue", "Sat") and text.endswith("03:15"), text
            problems["with a schedule"] = audit(page)
        finally:
            browser.close()
    assert {name: found for name, found in problems.items() if found} == {}
    # The refused form answers 400, as it should; nothing else may complain (CSP among them).
    assert [line for line in console if "status of 400" not in line] == []
    db.session.expire_all()
    schedule = db.session.scalars(select(MaintenanceSchedule)).one()
    assert (schedule.weekdays, schedule.start_time, schedule.duration_min) == ("TUE,SAT",
                                                                               "03:15", 60)
    assert db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.schedule_id == schedule.id)).first() is not None
