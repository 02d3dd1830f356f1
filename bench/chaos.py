"""Benchmark: the chaos scenarios of tests/chaos/ at production timings, as a table.

The whole stack as script/server runs it (real exporter, Prometheus, Alertmanager, portal,
worker; an SMTP sink and a local stand-in for Twilio's REST API), with the committed rule,
Alertmanager and portal timings: ServerDown at the first evaluation, group_interval 1 m, the reconciler's
grace 120 s, flapping 5 changes in 10 min settling after 5 min up. Each scenario gets a
fresh stack and database and prints one row: incidents, left open after recovery, SMS per
person and state, duplicate deliveries, incidents the reconciler had to close, seconds to
heal.

    .venv/bin/python bench/chaos.py                       # every scenario, about an hour
    .venv/bin/python bench/chaos.py --only alertmanager_wiped worker_killed_mid_send

Targets (issue 11): 0 incidents left open, 0 duplicate pages, a dead worker's page re-sent
within 90 s.
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

# name -> keyword arguments at production timings
SCENARIOS = {
    "flapping_30s": ("flapping", {"interval_s": 30, "half_period_s": 35, "cycles": 4,
                                  "settle_min": 5}),
    "flapping_10s": ("flapping", {"interval_s": 10, "half_period_s": 15, "cycles": 5,
                                  "settle_min": 5}),
    "one_in_three_30s": ("one_probe_in_three_failing", {"interval_s": 30, "failures": 5,
                                                        "settle_min": 5}),
    "one_in_three_10s": ("one_probe_in_three_failing", {"interval_s": 10, "failures": 16,
                                                        "settle_min": 5}),
    "alertmanager_wiped": ("alertmanager_wiped", {"servers": 3, "interval_s": 30,
                                                  "heal_timeout": 400}),
    "prometheus_restarted": ("prometheus_restarted", {"servers": 2, "interval_s": 30,
                                                      "heal_timeout": 400}),
    "worker_killed_mid_send": ("worker_killed_mid_send", {"interval_s": 30}),
    "pipeline_broken": ("pipeline_broken", {"interval_s": 30, "unalerted_s": 300}),
    "twilio_failing": ("twilio_failing", {"interval_s": 30}),
    "redis_lost": ("redis_lost", {"servers": 2, "interval_s": 30, "down_s": 60}),
    "portal_killed": ("portal_killed", {"servers": 2, "interval_s": 30, "down_s": 60}),
    "smtp_down_10min": ("smtp_down", {"interval_s": 30, "down_s": 600}),
    "database_down": ("database_down", {"servers": 2, "interval_s": 30, "down_s": 30}),
}
PRIVATE_DATABASE = {"database_down"}
COLUMNS = ("scenario", "incidents", "open after recovery", "pages per person", "duplicates",
           "closed by the reconciler", "seconds to heal")


def run(name: str) -> dict:
    from flask_migrate import upgrade

    from portal.extensions import db
    from tests.chaos import scenarios
    from tests.e2e.test_outage_to_phone import base_env
    from tests.support.postgres import private_postgres
    from tests.support.stack import PRODUCTION, Stack

    function, kwargs = SCENARIOS[name]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as extra:
        database = f"sqlite:///{tmp}/chaos.db"
        if name in PRIVATE_DATABASE:
            cluster = extra.enter_context(private_postgres())
            database, kwargs = cluster.url, {**kwargs, "cluster": cluster}
        # A redis-server of its own: no shared database is flushed or written.
        with Stack(base_env(database), Path(tmp), PRODUCTION,
                   own_redis=True) as stack, stack.app.app_context():
            upgrade()
            started = time.monotonic()
            result = getattr(scenarios, function)(stack, **kwargs)
            row = result.row()
            row["scenario"] = f"{row['scenario']} ({time.monotonic() - started:.0f} s)"
            db.session.remove()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), default=list(SCENARIOS))
    args = parser.parse_args()
    print(" | ".join(COLUMNS))
    print(" | ".join("---" for _ in COLUMNS))
    for name in args.only:
        try:
            row = run(name)
        except AssertionError as exc:  # a scenario that did not heal is a figure too
            row = {column: "" for column in COLUMNS}
            row["scenario"] = f"{name}: FAILED {str(exc).splitlines()[0]}"
        print(" | ".join(str(row[column]) for column in COLUMNS), flush=True)


if __name__ == "__main__":
    main()
