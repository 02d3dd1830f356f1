"""Benchmark: a 90-day downtime report over 1,000 servers and 50,000 incidents.

Fills a database (SQLite in a temp dir by default, or --database) with servers,
downtime incidents and a few maintenance windows, then produces the report as CSV
(summary and incident list) and XLSX through the real endpoint, printing for each the
seconds taken, the size, and the peak Python memory allocated while producing it
(tracemalloc), so that a constant-memory writer shows as a flat figure.

    .venv/bin/python bench/report.py
    .venv/bin/python bench/report.py --database postgresql://postgres@127.0.0.1/bench

Targets (issue 5): under 5 s each, memory bounded.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=90)


def configure(database: str) -> None:
    os.environ.update(
        SECRET_KEY="bench-secret-key-" + "x" * 32,
        SD_TOKEN="bench-sd-token-0123456789",
        ALERTMANAGER_WEBHOOK_TOKEN="bench-am-token-0123456789",
        DATABASE_URL=database,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    )


def fill(servers: int, incidents: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from portal.extensions import db
    from portal.incidents.models import Incident, MaintenanceWindow
    from portal.servers.models import Server

    db.drop_all()
    db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
    upgrade()
    rng = random.Random(42)
    db.session.execute(insert(Server), [
        {"id": i, "name": f"srv-{i:04d}", "kind": "http", "target": f"https://srv-{i}.bank/",
         "interval_s": 30, "timeout_s": 10, "enabled": True, "environment": "production",
         "created_at": START - timedelta(days=10), "updated_at": START}
        for i in range(1, servers + 1)
    ])
    rows = []
    for n in range(incidents):
        server_id = rng.randint(1, servers)
        start = START + timedelta(seconds=rng.randint(0, 90 * 86400))
        ended = start + timedelta(seconds=rng.randint(30, 7200))
        rows.append({"fingerprint": f"fp{n:08d}", "alert_started_at": start,
                     "alertname": "ServerDown", "severity": "critical", "server_id": server_id,
                     "server_name": f"srv-{server_id:04d}", "started_at": start,
                     "ended_at": ended, "reason": rng.choice(["timeout", "status 503",
                                                             "=cmd|' /C calc'!A0"]),
                     "labels": {}, "in_maintenance": False, "created_at": start,
                     "updated_at": ended})
        if len(rows) == 5000:
            db.session.execute(insert(Incident), rows)
            rows = []
    if rows:
        db.session.execute(insert(Incident), rows)
    db.session.add_all(
        MaintenanceWindow(server_id=i, starts_at=START + timedelta(days=i % 80),
                          ends_at=START + timedelta(days=i % 80, hours=2), reason="patching")
        for i in range(1, servers + 1, 10)
    )
    db.session.commit()


def fetch(client, headers: dict, query: str) -> int:
    response = client.get(f"/api/reports/downtime?{query}", headers=headers, buffered=False)
    if response.status_code != 200:
        sys.exit(f"{query} answered {response.status_code}")
    size = sum(len(chunk) for chunk in response.response)
    response.close()
    return size


def measure(client, headers: dict, query: str) -> tuple[float, int, int]:
    """Time one run untraced, then trace a second (tracemalloc slows Python several-fold)."""
    started = time.perf_counter()
    size = fetch(client, headers, query)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    fetch(client, headers, query)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, size, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", help="DATABASE_URL (default: SQLite in a temp dir)")
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=50000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        configure(args.database or f"sqlite:///{tmp}/report.db")
        from portal import create_app
        from portal.auth.session_control import Device
        from portal.auth.sessions import issue_tokens
        from portal.users.schemas import UserCreate
        from portal.users.service import create_user

        app = create_app()
        with app.app_context():
            started = time.perf_counter()
            fill(args.servers, args.incidents)
            user = create_user(None, UserCreate(username="bench", password="Kilimanjaro-report-2026",
                                                role="admin", email="bench@bank.example"))
            with app.test_request_context():
                access, _ = issue_tokens(user.id, Device("bench/report.py", "127.0.0.1"))
            print(f"filled {args.servers} servers, {args.incidents} incidents in "
                  f"{time.perf_counter() - started:.1f} s "
                  f"({'PostgreSQL' if 'postgres' in app.config['SQLALCHEMY_DATABASE_URI'] else 'SQLite'})")
            client = app.test_client()
            headers = {"Authorization": f"Bearer {access}"}
            period = (f"from={START.isoformat().replace('+', '%2B')}"
                      f"&to={END.isoformat().replace('+', '%2B')}")
            for label, fmt in (("CSV summary", "format=csv"),
                               ("CSV incidents", "format=csv&table=incidents"),
                               ("XLSX (both sheets)", "format=xlsx")):
                elapsed, size, peak = measure(client, headers, f"{period}&{fmt}")
                verdict = "OK" if elapsed < 5 else "MISSES 5 s"
                print(f"{label:20} {elapsed:6.2f} s  {size / 1e6:7.2f} MB  "
                      f"peak Python memory {peak / 1e6:6.1f} MB  [{verdict}]")


if __name__ == "__main__":
    main()
