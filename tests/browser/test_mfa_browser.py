"""Two-factor sign-in in Chromium, as an administrator meets it: the password leads to the
enrolment page (QR code and the key as text); the code an authenticator computes from that
key turns it on and signs in; the next sign-in asks for a code and reaches the dashboard."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.factories import PASSWORD, make_user
from tests.support.browser import chromium_page
from tests.support.mfa import require_for

pytestmark = pytest.mark.browser


def _password(page, base: str, username: str) -> None:
    page.goto(f"{base}/login?next=/dashboard")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _fresh_code(secret: str, after: str | None = None) -> str:
    """The current code, waiting for the next step if it equals ``after`` (used once)."""
    totp = pyotp.TOTP(secret)
    while totp.now() == after:
        time.sleep(0.5)
    return totp.now()


def test_an_admin_enrols_then_signs_in_with_a_code(portal):
    from playwright.sync_api import expect

    base, _ = portal
    require_for("admin")
    make_user("admin", username="mfa.admin")
    with chromium_page(timeout_ms=8000) as (page, problems):
        _password(page, base, "mfa.admin")
        expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
        expect(page.get_by_test_id("mfa-qr").locator("svg")).to_be_visible()
        secret = page.get_by_test_id("mfa-secret").inner_text().strip()
        first = _fresh_code(secret)
        page.get_by_label("Code from the app").fill(first)
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        page.get_by_test_id("continue").click()
        expect(page).to_have_url(base + "/dashboard")

        page.context.clear_cookies()
        _password(page, base, "mfa.admin")
        expect(page.get_by_test_id("code-form")).to_be_visible()
        page.get_by_label("Code").fill(_fresh_code(secret, after=first))
        page.get_by_role("button", name="Verify").click()
        expect(page).to_have_url(base + "/dashboard")
        assert not [p for p in problems if "Content Security Policy" in p], problems
