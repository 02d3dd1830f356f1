"""Screenshots for the README: the dashboard as tiles and as the fleet view, wall mode, the
dashboard on a 390 px phone and a public status page, of a realistic fleet (120 servers, a handful down,
certificates near expiry, some flapping), rendered by the real portal under gunicorn in
Chromium, saved to docs/screenshots/.

    .venv/bin/python bench/screenshots.py            # Redis database 14 on 127.0.0.1:6379
    SCREENSHOT_REDIS_URL=redis://127.0.0.1:6481/0 .venv/bin/python bench/screenshots.py

The Redis database it is given is emptied first: give it one of its own. The database is
a temporary SQLite file; no exporter or Prometheus runs, so the exporter's latest results
(with their heartbeats) and the 24 h availability are written into Redis as the exporter
and the uptime job would write them, and the tiles' one-hour charts show their empty state.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
OUT = ROOT / "docs" / "screenshots"
USER, PASSWORD = "screens", "Kilimanjaro-ops-room-2026"
VIEWPORT = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}

SEED = f"""
import json, random, time
from datetime import timedelta
import redis
from flask_migrate import upgrade
from portal import create_app
from portal.charts.uptime import UPTIME_KEY
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.servers.models import Server, ServerStatus
from portal.users.schemas import UserCreate
from portal.users.service import create_user
from wire import HEARTBEATS, LATEST_HASH

random.seed(14)
app = create_app()
with app.app_context():
    upgrade()
    store = redis.Redis.from_url(app.config["SERVERMON"].redis_url)
    store.flushdb()
    user = create_user(None, UserCreate(username="{USER}", password="{PASSWORD}", role="it_staff",
                                 email="screens@bank.example"))
    now, latest, uptime = utcnow(), {{}}, {{}}
    kinds = ["http", "tcp", "icmp", "dns"]
    places = [("production", "payments", ["core-banking", "card-switch", "swift-gw", "mpesa-bridge"]),
              ("production", "channels", ["mobile-api", "internet-banking", "atm-switch", "ussd-gw"]),
              ("production", "core", ["ledger-db", "customer-db", "kyc-service", "aml-screen"]),
              ("staging", "channels", ["mobile-api-stg", "ib-stg"]),
              ("dr", "core", ["ledger-db-dr", "core-banking-dr"]),
              ("staging", "internal", ["hr-portal", "intranet", "mail-relay"])]
    down = {{3: "connection refused", 17: "timeout after 10 s", 29: "status 503",
             41: "TLS handshake failed", 58: "connection refused", 77: "status 502"}}
    n = 0
    while n < 120:
        for environment, group, names in places:
            for name in names:
                if n >= 120:
                    break
                kind = kinds[n % 4]
                host = f"{{name}}-{{n // len(names) + 1:02d}}"
                target = {{"http": f"https://{{host}}.bank.example/health",
                          "tcp": f"{{host}}.bank.example:443",
                          "icmp": f"{{host}}.bank.example", "dns": f"{{host}}.bank.example"}}[kind]
                server = Server(name=host, kind=kind, target=target, interval_s=30, timeout_s=10,
                                environment=environment, group_name=group,
                                created_at=now - timedelta(days=120))
                status = "down" if n in down else ("unknown" if n in (63, 99) else "up")
                minutes = random.randint(2, 90) if status == "down" else random.randint(200, 5000)
                since = now - timedelta(minutes=minutes)
                server.state = ServerStatus(status=status, changed_at=since, last_checked=now,
                                            reason=down.get(n), latency_ms=None)
                db.session.add(server)
                db.session.flush()
                if status != "unknown":
                    odds = "u" * 19 + "d" if n % 11 else "uuud"  # every eleventh one flaps
                    beats = "".join(random.choice(odds) for _ in range(HEARTBEATS))
                    if status == "down":
                        beats = beats[:HEARTBEATS - random.randint(3, 12)]
                        beats += "d" * (HEARTBEATS - len(beats))
                    cert = None
                    if kind == "http":
                        days = {{0: 4.5, 8: 11.2, 16: -1.5}}.get(n, random.randint(30, 330))
                        cert = time.time() + 86400 * days
                    latency = round(random.uniform(4, 180), 1)
                    latest[str(server.id)] = json.dumps({{
                        "server_id": server.id, "status": status, "reason": down.get(n),
                        "latency_ms": latency if status == "up" else None,
                        "checked_at": (now - timedelta(seconds=random.randint(1, 29))).isoformat(),
                        "status_code": 200 if status == "up" else None, "cert_expiry": cert,
                        "beats": beats, "beat_latency_ms": []}})
                    low, high = (96.5, 99.99) if status == "up" else (88.0, 99.0)
                    uptime[server.id] = (100.0 if "d" not in beats and random.random() < .6
                                         else round(random.uniform(low, high), 3))
                n += 1
    db.session.commit()
    store.hset(LATEST_HASH, mapping=latest)
    store.hset(UPTIME_KEY, mapping=uptime)
    # The last 90 days' outages, for the status page's bars, and the page itself.
    from portal.incidents.models import Incident
    from portal.status_pages.schemas import StatusPageIn
    from portal.status_pages.service import create_page
    servers = db.session.query(Server).order_by(Server.id).all()
    for server in random.sample(servers, 25):
        for _ in range(random.randint(1, 3)):
            start = now - timedelta(days=random.uniform(1, 89))
            end = start + timedelta(minutes=random.randint(4, 240))
            db.session.add(Incident(
                fingerprint=f"fp-{{server.id}}-{{start.timestamp()}}", alert_started_at=start,
                alertname="ServerDown", severity="critical", server_id=server.id,
                server_name=server.name, started_at=start, ended_at=end, labels={{}}))
    db.session.commit()
    first = {{}}
    for server in servers:
        first.setdefault(server.name.rsplit("-", 1)[0], server.id)
    create_page(StatusPageIn.model_validate({{
        "name": "Bank services", "slug": "bank", "public": True,
        "note": "Card payments are slower than usual; we are working on it.",
        "components": [
            {{"label": "group=channels", "display_name": "Mobile and internet banking",
             "display_group": "Digital banking"}},
            {{"server_id": first["ussd-gw"], "display_name": "USSD banking (*123#)",
             "display_group": "Digital banking"}},
            {{"server_id": first["card-switch"], "display_name": "Card payments",
             "display_group": "Payments"}},
            {{"server_id": first["mpesa-bridge"], "display_name": "M-Pesa transfers",
             "display_group": "Payments"}},
            {{"server_id": first["swift-gw"], "display_name": "International transfers",
             "display_group": "Payments"}},
            {{"server_id": first["atm-switch"], "display_name": "ATM network",
             "display_group": "Cards and ATMs"}},
        ]}}), user)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.update(SECRET_KEY="screens-secret-key-" + "x" * 32, SD_TOKEN="screens-sd-token-0123456789",
                   ALERTMANAGER_WEBHOOK_TOKEN="screens-am-token-0123456789",
                   DATABASE_URL=f"sqlite:///{tmp}/screens.db",
                   REDIS_URL=os.environ.get("SCREENSHOT_REDIS_URL", "redis://127.0.0.1:6379/14"),
                   PORTAL_URL=base, PROMETHEUS_MULTIPROC_DIR=tmp)
        subprocess.run([str(VENV_BIN / "python"), "-c", SEED], env=env, cwd=ROOT, check=True)
        log = Path(tmp) / "portal.log"
        with log.open("w") as stderr:
            portal = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "portal" / "gunicorn_conf.py"),
                 "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}", "portal:create_app()"],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(base + "/login", timeout=1)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        sys.exit("the portal did not start: " + log.read_text()[-2000:])
                    time.sleep(0.3)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(base + "/login?next=/dashboard")
                page.get_by_label("Username").fill(USER)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                for name, path in (("dashboard-tiles", "/dashboard?view=tiles"),
                                   ("dashboard-fleet", "/dashboard?view=fleet"), ("wall", "/wall")):
                    page.goto(base + path)
                    expect(page.locator("body")).to_have_attribute("data-live-state", "live")
                    page.wait_for_timeout(1500)  # the tiles' charts settle into their state
                    page.screenshot(path=str(OUT / f"{name}.png"))
                    print(f"wrote {OUT / name}.png")
                # A phone, as a user who has not chosen a view sees the dashboard: the fleet.
                phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                            storage_state=page.context.storage_state())
                small = phone.new_page()
                small.goto(base + "/dashboard")
                expect(small.get_by_test_id("fleet")).to_be_visible()
                small.wait_for_timeout(1000)
                small.screenshot(path=str(OUT / "dashboard-phone.png"))
                print(f"wrote {OUT / 'dashboard-phone'}.png")
                # The customers' status page, as anyone sees it without signing in.
                customer = browser.new_page(viewport={"width": 1366, "height": 900})
                customer.goto(base + "/status/bank")
                customer.screenshot(path=str(OUT / "status-page.png"), full_page=True)
                print(f"wrote {OUT / 'status-page'}.png")
                browser.close()
        finally:
            portal.terminate()
            portal.wait(timeout=10)


if __name__ == "__main__":
    main()
