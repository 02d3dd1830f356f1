"""Benchmark: seconds from a target going silent to the people who must know.

Runs the whole stack as script/server does (real exporter, Prometheus, Alertmanager,
portal, worker; an SMTP sink and a local stand-in for Twilio's REST API) with the
default production timings: probe every 30 s, scrape and evaluate every 5 s, ServerDown
after 10 s, Alertmanager group_wait 5 s. For each run it stops a local HTTP target at a
random moment and prints the seconds until (a) the WebSocket status change, (b) the
incident is recorded, (c) the e-mail and the SMS arrive.

    .venv/bin/python bench/alert_latency.py --runs 3

Targets (issue 4): (a) within one probe interval plus 1 s; (c) under 60 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INTERVAL_S = 30


def seconds_until(check, since: float, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic() - since
        time.sleep(0.05)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import redis
    import requests
    from flask_migrate import upgrade

    from portal.extensions import db
    from tests.conftest import TEST_REDIS_URL
    from tests.e2e.test_outage_to_phone import LiveFeed, Target, base_env
    from tests.factories import PASSWORD, make_server, make_user
    from tests.support.stack import PRODUCTION, Stack

    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/latency.db"
        redis.Redis.from_url(TEST_REDIS_URL).flushdb()
        target = Target()
        target.start()
        with Stack(base_env(database), Path(tmp), PRODUCTION) as stack, \
                stack.app.app_context():
            upgrade()
            user = make_user("it_staff", phone="+256700000001", notify_sms=True)
            server = make_server("bench-target", target=f"http://127.0.0.1:{target.port}/",
                                 interval_s=INTERVAL_S, timeout_s=5)
            stack.wait_exporter()
            with LiveFeed(stack, user) as feed:
                token = requests.post(f"{stack.portal_url}/api/auth/login", timeout=10, json={
                    "username": user.username, "password": PASSWORD}).json()["access_token"]
                api = requests.Session()
                api.headers["Authorization"] = f"Bearer {token}"

                def open_incidents() -> list:
                    return api.get(f"{stack.portal_url}/api/incidents?state=open",
                                   timeout=5).json()["items"]

                print(f"probe interval {INTERVAL_S} s, production timings {PRODUCTION}")
                print("run   (a) live status   (b) incident   (c) e-mail   (c) SMS")
                for run in range(1, args.runs + 1):
                    seconds_until(lambda: feed.find("status", server_id=server.id, status="up"),
                                  time.monotonic(), 2 * INTERVAL_S + 10)
                    feed.events.clear()
                    mails, texts = len(stack.mail), len(stack.twilio.sent)
                    time.sleep(random.uniform(0, INTERVAL_S))
                    target.stop()
                    stopped = time.monotonic()
                    live = seconds_until(
                        lambda: feed.find("status", server_id=server.id, status="down"),
                        stopped, 120)
                    incident = seconds_until(lambda: open_incidents(), stopped, 120)
                    mail = seconds_until(lambda mails=mails: len(stack.mail) > mails, stopped, 120)
                    sms = seconds_until(lambda texts=texts: len(stack.twilio.sent) > texts, stopped, 120)

                    def shown(value: float | None) -> str:
                        return "   timeout" if value is None else f"{value:10.1f}"

                    print(f"#{run:<3} {shown(live)}        {shown(incident)}   {shown(mail)}"
                          f"   {shown(sms)}")
                    target.start()
                    seconds_until(lambda: not open_incidents(), time.monotonic(), 150)
                    mails_resolved = len(stack.mail)
                    seconds_until(lambda seen=mails_resolved: len(stack.mail) > seen, time.monotonic(), 10)
                print(f"targets: (a) <= {INTERVAL_S + 1} s, (c) < 60 s")
            db.session.remove()
        target.stop()


if __name__ == "__main__":
    main()
