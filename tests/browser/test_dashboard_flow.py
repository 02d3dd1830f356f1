"""The real portal under gunicorn, driven by Chromium: sign in, add a server, sign out.

After logout the saved cookies must be dead: a fresh browser context carrying them lands
on the sign-in page. The dashboard must load without console errors or CSP violations.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import TEST_REDIS_URL
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _portal_env(config, port: int) -> dict[str, str]:
    """The test app's own configuration, as the environment a real process reads."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "GRAFANA_"))}
    env.update(
        SECRET_KEY=config.secret_key,
        DATABASE_URL=config.database_url,
        REDIS_URL=TEST_REDIS_URL,
        SD_TOKEN=config.sd_token,
        ALERTMANAGER_WEBHOOK_TOKEN=config.alertmanager_webhook_token,
        PROMETHEUS_URL=config.prometheus_url,
        ALERTMANAGER_URL=config.alertmanager_url,
        SERVERMON_TESTING="true",
        PORTAL_URL=f"http://127.0.0.1:{port}",
    )
    return env


@pytest.fixture
def portal(app, config) -> Iterator[tuple[str, object]]:
    """A user made through the factories, then gunicorn serving the same database."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    user = make_user("it_staff", username="browser.user")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}", "portal:create_app()"],
        cwd=ROOT, env=_portal_env(config, port),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(base + "/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("portal did not start: " + process.stderr.read().decode()[-2000:])
            time.sleep(0.1)
        yield base, user
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


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
            page.on("console", lambda msg: problems.append(f"{msg.type}: {msg.text}")
                    if msg.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))

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

            problems.clear()
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
