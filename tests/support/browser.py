"""Debian's Chromium driven through Playwright, and the portal under gunicorn for it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import TEST_REDIS_URL
from tests.factories import PASSWORD
from tests.support.binaries import free_port, running

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = str(ROOT / "portal" / "gunicorn_conf.py")  # what production serves with
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def portal_env(config, port: int) -> dict[str, str]:
    """The test app's own configuration, as the environment a real process reads."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "GRAFANA_"))}
    env.update(
        SECRET_KEY=config.secret_key,
        DATABASE_URL=config.database_url,
        REDIS_URL=TEST_REDIS_URL,
        SD_TOKEN=config.sd_token,
        PROBE_SECRETS_KEY=config.probe_secrets_key,
        ALERTMANAGER_WEBHOOK_TOKEN=config.alertmanager_webhook_token,
        PROMETHEUS_URL=config.prometheus_url,
        ALERTMANAGER_URL=config.alertmanager_url,
        SERVERMON_TESTING="true",
        PORTAL_URL=f"http://127.0.0.1:{port}",
        PORTAL_PORT=str(port),
    )
    return env


@contextmanager
def gunicorn_portal(config, log: Path) -> Iterator[str]:
    """The portal under gunicorn as production serves it, but one worker with a few threads
    (for /ws), on the test database."""
    with gunicorn_process(config, log) as (base, _):
        yield base


@contextmanager
def gunicorn_process(config, log: Path, port: int | None = None
                     ) -> Iterator[tuple[str, subprocess.Popen]]:
    """``gunicorn_portal``, on ``port`` to start it again where it was, with its process
    (in a group of its own, for ``binaries.crash``)."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with running([gunicorn, "-c", GUNICORN_CONF, "-w", "1", "--threads", "4", "portal:create_app()"],
                 f"{base}/login", log, env=portal_env(config, port), cwd=ROOT,
                 own_group=True) as process:
        yield base, process


def watch_console(page, problems: list[str]) -> None:
    """Collect console errors and warnings (CSP violations among them) and page errors."""
    page.on("console", lambda msg: problems.append(f"{msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))


def sign_in(page, base: str, username: str, path: str = "/dashboard") -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/login?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + path)
    # The URL changes when the page is committed, before its last scripts are parsed: a
    # loaded machine showed a test the page without them.
    page.wait_for_load_state("domcontentloaded")


@contextmanager
def chromium_page(timeout_ms: int = 5000, **page_options: object) -> Iterator[tuple[object, list[str]]]:
    """A page in a fresh Chromium, and the console problems it collects (watch_console)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(**page_options)
            page.set_default_timeout(timeout_ms)
            problems: list[str] = []
            watch_console(page, problems)
            yield page, problems
        finally:
            browser.close()
