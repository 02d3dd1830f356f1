"""Benchmark: a data-centre outage at production timings, and the pages it sends.

N HTTP servers (default 1,000) are paths on one local site, probed every 30 s by the real
exporter on the whole stack (tests/support/stack.py: Prometheus, Alertmanager, the portal
under gunicorn as script/server runs it, the worker; an SMTP sink and a local stand-in for
Twilio's REST API) on a private PostgreSQL
cluster (``--database sqlite`` for the embedded one), with the committed rule, Alertmanager
and portal timings and the default gathering window (30 s). Three people are
on call. The site stops, and once every incident is open and paged it comes back. Prints
seconds until every incident existed, how late the incidents' starts are after the stop,
messages per person and channel for each wave, and seconds until the last DOWN digest left.

    .venv/bin/python bench/storm.py                 # 1,000 servers, about 6 minutes
    .venv/bin/python bench/storm.py --servers 200 --interval 10

Targets (issue 12): every incident within one probe interval + 15 s of the stop, at most
3 messages per person per channel per wave.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=30, help="probe interval, seconds")
    parser.add_argument("--window", type=int, default=30, help="gather_window_s")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from tests.chaos import scenarios
    from tests.conftest import make_config
    from tests.e2e.test_outage_to_phone import base_env
    from tests.support.postgres import private_postgres
    from tests.support.stack import PRODUCTION, Stack

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as extra:
        if args.database == "postgresql":  # production's: a private cluster, not the shared one
            database = extra.enter_context(private_postgres()).url
        else:
            database = f"sqlite:///{tmp}/storm.db"
        with create_app(make_config(database)).app_context():
            upgrade()  # before the portal's processes start on it
        stack = extra.enter_context(Stack(base_env(database), Path(tmp), PRODUCTION,
                                          own_redis=True, portal_process=True))
        extra.enter_context(stack.app.app_context())
        began = time.monotonic()
        result = scenarios.Storm(args.servers)
        try:
            scenarios.storm(stack, servers=args.servers, interval_s=args.interval,
                            window_s=args.window, heal_timeout=900, result=result)
        except AssertionError as exc:  # what it got so far is a figure too
            print(f"FAILED: {str(exc).splitlines()[0]}")
        took = time.monotonic() - began
        db.session.remove()
    lags = sorted(result.start_lag_s) or [float("nan")]
    print(f"servers: {result.servers}, probe interval {args.interval} s, window {args.window} s, "
          f"{args.database} (run took {took:.0f} s)")
    print(f"incidents: {result.incidents}, left open after recovery: {result.left_open}")
    print(f"every incident open {result.all_open_s:.1f} s after the stop; incident start after "
          f"the stop: min {lags[0]:.1f} s, max {lags[-1]:.1f} s")
    print(f"last DOWN message delivered {result.last_digest_s:.1f} s after the stop")
    for wave, counts in (("DOWN", result.down), ("RESOLVED", result.resolved)):
        per = ", ".join(f"{who} {channel} {n}" for (who, channel), n in sorted(counts.items()))
        print(f"{wave} wave, messages per recipient: {per}")
    print(f"every outbox row sent in exactly one message: {result.rows_sent_once}")
    print(f"servers with more than one incident: {len(result.repeated)}")
    for line in result.repeated[:10]:
        print(f"  {line}")
    for subject in result.subjects:
        print(f"  e-mail: {subject}")


if __name__ == "__main__":
    main()
