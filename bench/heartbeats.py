"""Benchmark: 10,000 heartbeat monitors pinging every minute, and how late a missed run is
noticed.

Runs the whole stack as script/server does (tests/support/stack.py: the portal under
gunicorn with portal/gunicorn_conf.py, the worker, the exporter, Prometheus and
Alertmanager with the committed timings) on PostgreSQL (``--database-url``; its schema is
dropped, created and migrated, as the tests do). It registers N heartbeat servers (period
60 s, grace 60 s) through the service functions, as the API does, then pings each once a
period, spread evenly (10,000 a minute is 167 pings/s), for ``--duration`` seconds from an
asyncio client with keep-alive connections, recording each request's latency and status.

The portal refuses more than 1,200 pings a minute from one address
(portal/heartbeats/throttle.py). Real jobs ping from many hosts, so the load comes from
many loopback addresses too: each source address (127.0.0.2, 127.0.0.3, ...: the whole
127/8 is the loopback on Linux) gets its own connection pool, its client sockets bound to
it, and there are enough of them that each stays under 1,000 a minute. Nothing in the
product is loosened for the benchmark.

Missed runs: a sample of servers (``--sample``, default 50) stops pinging right after its
first ping at or after ``--stop-at`` seconds, while the rest keep pinging. Each is due at
its last success (as the portal stored it) + period + grace. For each, the exporter's
state change (the ``server_events`` row with status down: its ``at`` should be the
deadline exactly; ``received_at`` minus the deadline is how late the portal knew) and the
``ServerDown`` incident (``created_at`` minus the deadline: Prometheus, Alertmanager and
the webhook on top) are measured. Pinging goes on until every sample's incident exists.

The exporter is stopped while the servers are registered (else each new server's change
notice makes it fetch the whole, growing list again: that measures registration, not
pings) and started once they all are, on schedules all restarted at that moment
(``heartbeat_since``, one UPDATE): registration takes longer than a period and a grace,
and a job never pinged is late a period and a grace after its schedule began; the first
minute's pings then all land before that deadline. The exporter's first judgement of
every server (N "first result" state changes for the worker to store: 30 s at 10,000,
100 a commit, where one commit a change took it 2.5 minutes, its CPU beside the pings'
all along) comes at once: a fleet registered in one go, not a steady state. So the
figures are printed for that part and for the steady part after it, apart, and the
target is read on the steady part; ``--duration`` counts from its start.

    .venv/bin/python bench/heartbeats.py                       # defaults, about 6 minutes
    .venv/bin/python bench/heartbeats.py --servers 2000 --duration 90 --max-rate

Targets: p99 under 50 ms at 167 pings/s, with no errors. ``--max-rate`` then ramps the
rate, from 20 pings/s up (x1.4 a step), until p99 reaches 50 ms or errors appear, and
prints the highest rate that kept p99 under it. No timing assertions: the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PER_SOURCE_PER_MIN = 1000  # pings a minute from one source address; the portal takes 1,200
P99_TARGET_MS = 50.0


@dataclass
class Results:
    """Every ping sent: its start (monotonic), latency and status ("error" when none)."""

    sent: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    status: list[int | str] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # how late the client sent it

    def between(self, start: float, end: float = math.inf) -> Results:
        out = Results()
        for i, at in enumerate(self.sent):
            if start <= at < end:
                out.sent.append(at)
                out.latency_ms.append(self.latency_ms[i])
                out.status.append(self.status[i])
                out.lag_ms.append(self.lag_ms[i])
        return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def classes(statuses: list[int | str]) -> Counter:
    counts: Counter = Counter()
    for status in statuses:
        if status == "error":
            counts["errors"] += 1
        elif status >= 500:
            counts["5xx"] += 1
        else:
            counts[str(status)] += 1
    return counts


def bad(statuses: list[int | str]) -> int:
    return sum(1 for status in statuses if status != 200)


class Pinger:
    """One aiohttp session per loopback source address, each with keep-alive connections;
    a ping goes out on the source its server is assigned to."""

    def __init__(self, base: str, keys: list[str], sources: int) -> None:
        self.base = base
        self.keys = keys
        self.sessions: list = []
        self.results = Results()
        self.add_sources(sources)

    def add_sources(self, wanted: int) -> None:
        import aiohttp

        if wanted > 250:
            sys.exit(f"{wanted} source addresses wanted; 127.0.0.2-251 is all this uses")
        while len(self.sessions) < wanted:
            address = f"127.0.0.{len(self.sessions) + 2}"
            # Under gunicorn's 2 s keep-alive, so the client never reuses a connection the
            # server is closing (which would count as an error that no job would see).
            connector = aiohttp.TCPConnector(local_addr=(address, 0), limit=64,
                                             keepalive_timeout=1.5)
            self.sessions.append(aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=10),
                headers={"User-Agent": "servermon-bench/heartbeats"}))

    async def close(self) -> None:
        for session in self.sessions:
            await session.close()

    async def ping(self, index: int, planned: float, source: int | None = None) -> None:
        session = self.sessions[(index if source is None else source) % len(self.sessions)]
        started = time.perf_counter()
        sent = time.monotonic()
        try:
            async with session.get(f"{self.base}/ping/{self.keys[index]}",
                                   allow_redirects=False) as response:
                await response.read()
                status: int | str = response.status
        except Exception:  # any failure is an error figure, not a crash
            status = "error"
        results = self.results
        results.sent.append(sent)
        results.latency_ms.append((time.perf_counter() - started) * 1000)
        results.status.append(status)
        results.lag_ms.append(max(sent - planned, 0.0) * 1000)


async def fleet(pinger: Pinger, period: float, started: float, stopped: dict[int, float],
                done: asyncio.Event) -> None:
    """Each server once a period, server i at i/N of it; a stopped server's pings end
    after the first at or after its stop time (monotonic)."""
    count = len(pinger.keys)
    tasks: set[asyncio.Task] = set()
    turn = 0
    while not done.is_set():
        for index in range(count):
            planned = started + turn * period + index * period / count
            stop = stopped.get(index)
            if stop is not None and planned - period >= stop:
                continue  # its last ping was the round before
            wait = planned - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if done.is_set():
                break
            task = asyncio.create_task(pinger.ping(index, planned))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        turn += 1
    if tasks:
        await asyncio.wait(tasks)


async def steady(pinger: Pinger, rate: float, seconds: float, first: int) -> int:
    """``rate`` pings/s for ``seconds``, round the keys from ``first``; returns the next."""
    tasks: set[asyncio.Task] = set()
    began = time.monotonic()
    count = len(pinger.keys)
    n = 0
    while True:
        planned = began + n / rate
        if planned - began >= seconds:
            break
        wait = planned - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        index = (first + n) % count
        task = asyncio.create_task(pinger.ping(index, planned, source=n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        await asyncio.wait(tasks)
    return (first + n) % count


def exporter_metric(port: int, name: str) -> float | None:
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except requests.RequestException:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    return None


def fresh_schema(url: str) -> None:
    """An empty public schema, migrated: what the tests start from."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from portal import create_app
    from tests.conftest import make_config

    config = make_config(url)
    engine = create_engine(config.database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app(config)
    with app.app_context():
        upgrade()
        from portal.extensions import db

        db.engine.dispose()


def register(count: int, period: int, grace: int) -> tuple[list[int], list[str], float]:
    """``count`` heartbeat servers, made as POST /api/servers makes them (one commit, audit
    row and change notice each); returns their ids, ping keys and the seconds it took."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.servers.models import Server
    from portal.servers.ping_keys import ping_key
    from portal.servers.service import create_server, validate_spec, with_probe_defaults

    began = time.monotonic()
    for i in range(count):
        create_server(validate_spec(with_probe_defaults({
            "name": f"job-{i:05d}", "kind": "heartbeat", "heartbeat_period_s": period,
            "heartbeat_grace_s": grace, "group": f"batch-{i % 20}"})), None)
        if (i + 1) % 1000 == 0:
            db.session.expunge_all()  # keep the identity map small
            print(f"  registered {i + 1} in {time.monotonic() - began:.0f} s", flush=True)
    took = time.monotonic() - began
    ids, keys = [], []
    for server in db.session.scalars(select(Server).where(Server.kind == "heartbeat")
                                     .order_by(Server.id)):
        ids.append(server.id)
        keys.append(ping_key(server))
    db.session.expunge_all()
    return ids, keys, took


def restart_schedules(stack, ids: list[int], timeout: float = 180) -> None:
    """Every schedule from now (one UPDATE), then the exporter started on them: it loads
    all N from service discovery at once."""
    from sqlalchemy import update

    from portal.dbtypes import utcnow
    from portal.extensions import db
    from portal.servers import page_cache
    from portal.servers.models import Server

    db.session.execute(update(Server).where(Server.id.in_(ids)).values(
        heartbeat_since=utcnow()))
    db.session.commit()
    page_cache.bump(page_cache.TARGETS_GENERATION_KEY)  # an edit behind the service's back
    stack.start("exporter")
    stack.wait_exporter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (exporter_metric(stack.exporter_port, "servermon_targets") or 0) >= len(ids):
            return
        time.sleep(0.5)
    sys.exit(f"the exporter did not load the {len(ids)} targets in {timeout:.0f} s")


@dataclass
class Detection:
    """Per sample server, seconds after its deadline (None: not seen)."""

    deadline: dict[int, float] = field(default_factory=dict)
    event_at: dict[int, float] = field(default_factory=dict)  # server_events.at - deadline
    event_received: dict[int, float] = field(default_factory=dict)
    incident_created: dict[int, float] = field(default_factory=dict)
    incident_started: dict[int, float] = field(default_factory=dict)
    other_downs: int = 0  # down changes of servers that kept pinging: false alarms
    other_incidents: int = 0


def detection(sample_ids: list[int], all_since: datetime, period: int, grace: int
              ) -> Detection:
    """What the database says about the sample, read in a fresh app context (this runs in
    a thread while the event loop keeps pinging)."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.heartbeats.models import HeartbeatState
    from portal.incidents.models import Incident
    from portal.servers.models import ServerEvent

    found = Detection()
    states = db.session.execute(select(HeartbeatState.server_id, HeartbeatState.last_success_at)
                                .where(HeartbeatState.server_id.in_(sample_ids))).all()
    for server_id, last in states:
        if last is not None:
            found.deadline[server_id] = last.timestamp() + period + grace
    events = db.session.execute(select(ServerEvent.server_id, ServerEvent.at,
                                       ServerEvent.received_at)
                                .where(ServerEvent.server_id.in_(sample_ids),
                                       ServerEvent.status == "down",
                                       ServerEvent.at >= all_since)
                                .order_by(ServerEvent.at)).all()
    for server_id, at, received in events:
        due = found.deadline.get(server_id)
        if due is not None and server_id not in found.event_at:
            found.event_at[server_id] = at.timestamp() - due
            found.event_received[server_id] = received.timestamp() - due
    incidents = db.session.execute(select(Incident.server_id, Incident.created_at,
                                          Incident.started_at)
                                   .where(Incident.server_id.in_(sample_ids),
                                          Incident.alertname == "ServerDown")
                                   .order_by(Incident.created_at)).all()
    for server_id, created, started in incidents:
        due = found.deadline.get(server_id)
        if due is not None and server_id not in found.incident_created:
            found.incident_created[server_id] = created.timestamp() - due
            found.incident_started[server_id] = started.timestamp() - due
    found.other_downs = db.session.scalar(
        select(func.count()).select_from(ServerEvent).where(
            ServerEvent.status == "down", ServerEvent.server_id.not_in(sample_ids),
            ServerEvent.at >= all_since)) or 0
    found.other_incidents = db.session.scalar(
        select(func.count()).select_from(Incident).where(
            Incident.server_id.not_in(sample_ids))) or 0
    db.session.remove()
    return found


def cpu_seconds(groups: dict[str, int]) -> dict[tuple[str, int], float]:
    """CPU seconds used so far by each process of each named process group (a stack
    component started in a session of its own: gunicorn and its workers, dramatiq's
    processes), of PostgreSQL (every database on the server) and by this process (the
    load, the stand-ins), keyed by component and process id."""
    tick = os.sysconf("SC_CLK_TCK")
    by_group = {pgid: name for name, pgid in groups.items()}
    used: dict[tuple[str, int], float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        pgid, cpu = int(fields[2]), (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry.name)
        if pid == os.getpid():
            used["bench (load, stand-ins)", pid] = cpu
        elif pgid in by_group:
            used[by_group[pgid], pid] = cpu
        elif comm == "postgres":
            used["postgres (every database)", pid] = cpu
    return used


def cpu_line(before: dict, after: dict, seconds: float, part: str = "while pinging") -> str:
    """Cores per component between two ``cpu_seconds``: each process's own difference (a
    process gone by ``after``, a database connection closed, say, is left out)."""
    used: Counter = Counter()
    for (name, pid), cpu in after.items():
        used[name] += (cpu - before.get((name, pid), 0.0)) / seconds
    shown = ", ".join(f"{name} {cores:.2f}" for name, cores in
                      sorted(used.items(), key=lambda item: -item[1]))
    return f"  cores used {part}: {shown}; total {sum(used.values()):.2f} of {os.cpu_count()}"


def first_judgements() -> int:
    """Servers whose first state change (from "unknown": the exporter's first judgement of
    it) the worker has stored. Counted by what they are, not by when they arrived: the
    exporter starts before the pinging does, and a worker that keeps up stores many of
    them before it (counting changes received since the pinging began, as this did, then
    waited for the sample's misses to make up the number)."""
    from sqlalchemy import distinct, func, select

    from portal.extensions import db
    from portal.servers.models import ServerEvent

    count = db.session.scalar(select(func.count(distinct(ServerEvent.server_id)))
                              .where(ServerEvent.previous == "unknown")) or 0
    db.session.remove()
    return count


def summary_line(label: str, results: Results, seconds: float) -> tuple[str, float]:
    counts = classes(results.status)
    p99 = percentile(results.latency_ms, 0.99)
    shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return (f"{label}: {len(results.sent)} pings in {seconds:.0f} s = "
            f"{len(results.sent) / seconds:.1f}/s; status {shown}; latency p50 "
            f"{percentile(results.latency_ms, 0.5):.1f} ms, p90 "
            f"{percentile(results.latency_ms, 0.9):.1f} ms, p99 {p99:.1f} ms, max "
            f"{max(results.latency_ms, default=float('nan')):.1f} ms; client send lag p99 "
            f"{percentile(results.lag_ms, 0.99):.1f} ms"), p99


def spread(values: list[float]) -> str:
    if not values:
        return "none seen"
    return (f"p50 {percentile(values, 0.5):6.2f} s, p99 {percentile(values, 0.99):6.2f} s, "
            f"max {max(values):6.2f} s, min {min(values):6.2f} s ({len(values)})")


def portal_figures(base: str) -> tuple[float, float, float] | None:
    """(pings served, of them within 50 ms inside the portal, SQL statements for them),
    from the portal's own metrics: time inside the portal, without the queueing outside.
    None when the portal does not answer in time (a busy portal is a figure too)."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    rules = ("/ping/<key>", "/ping/<key>/<action>")
    try:
        text = requests.get(base + "/metrics", timeout=60).text
    except requests.RequestException as exc:
        print(f"  the portal's /metrics did not answer: {exc}")
        return None
    served = within = queries = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("endpoint") not in rules:
                continue
            if family.name == "servermon_portal_http_request_duration_seconds":
                if sample.name.endswith("_count"):
                    served += sample.value
                elif sample.name.endswith("_bucket") and sample.labels.get("le") == "0.05":
                    within += sample.value
            elif family.name == "servermon_portal_db_queries" and sample.name.endswith("_total"):
                queries += sample.value
    return served, within, queries


async def run(args: argparse.Namespace, stack, ids: list[int], keys: list[str]) -> None:
    from portal.dbtypes import utcnow

    period = float(args.period)
    rng = random.Random(args.seed)
    sample = sorted(rng.sample(range(len(ids)), min(args.sample, len(ids))))
    sources = max(args.sources, math.ceil(len(ids) / period * 60 / PER_SOURCE_PER_MIN))
    pinger = Pinger(stack.portal_url, keys, sources)
    since = utcnow()
    before = portal_figures(stack.portal_url)
    groups = {name: process.pid for name, process in stack.processes.items()}
    cpu_before = cpu_seconds(groups)
    started = time.monotonic() + 0.5
    stopped = {index: started + args.stop_at for index in sample}
    done = asyncio.Event()
    print(f"pinging {len(ids)} servers once every {args.period} s from {sources} source "
          f"addresses (127.0.0.2-{sources + 1}); {len(sample)} of them stop after their "
          f"first ping at or after {args.stop_at} s", flush=True)
    load = asyncio.create_task(fleet(pinger, period, started, stopped, done))
    sample_ids = [ids[i] for i in sample]
    give_up = started + args.stop_at + period + args.period + args.grace + 180
    found = Detection()

    def check() -> Detection:
        with stack.app.app_context():
            return detection(sample_ids, since, args.period, args.grace)

    def judged() -> int:
        with stack.app.app_context():
            return first_judgements()

    settled = None  # when the worker had stored the exporter's first judgement of each
    cpu_settled: dict = {}
    while True:
        await asyncio.sleep(5)
        now = time.monotonic()
        if settled is None and await asyncio.to_thread(judged) >= len(ids):
            settled, cpu_settled = now, cpu_seconds(groups)
            print(f"  the worker had stored every server's first judgement at {now - started:.0f} s",
                  flush=True)
        if (settled is None and now < give_up) or now - (settled or started) < args.duration:
            continue
        found = await asyncio.to_thread(check)
        if len(found.incident_created) >= len(sample_ids) or now > give_up:
            break
    done.set()
    await load
    ended = time.monotonic()
    seconds = ended - started
    cpu_after = cpu_seconds(groups)
    line, p99 = summary_line("fleet, the whole run", pinger.results, seconds)
    print(line)
    steady = pinger.results
    if settled is not None:
        print(summary_line(f"  the first {settled - started:.0f} s, while the worker stored the "
                           f"exporter's first judgement of each of the {len(ids)} servers",
                           pinger.results.between(started, settled), settled - started)[0])
        steady = pinger.results.between(settled)
        steady_line, p99 = summary_line("  steady, after that", steady, ended - settled)
        print(steady_line)
    for minute in range(math.ceil(seconds / 60)):
        part = pinger.results.between(started + 60 * minute, started + 60 * (minute + 1))
        if part.sent:
            print(f"  minute {minute + 1}: {len(part.sent)} pings, p99 "
                  f"{percentile(part.latency_ms, 0.99):.1f} ms, max {max(part.latency_ms):.1f} ms, "
                  f"not 200: {bad(part.status)}")
    after = portal_figures(stack.portal_url)
    if before and after and after[0] > before[0]:
        served, fast = after[0] - before[0], after[1] - before[1]
        print(f"  inside the portal: {served:.0f} pings served, {100 * fast / served:.2f} % "
              f"within 50 ms; SQL {(after[2] - before[2]) / served:.2f} statements per ping")
    print(cpu_line(cpu_before, cpu_after, seconds))
    if settled is not None:
        print(cpu_line(cpu_settled, cpu_after, ended - settled, "in the steady part"))
    verdict = "OK" if p99 < P99_TARGET_MS and bad(steady.status) == 0 else "MISSES"
    print(f"  target p99 < {P99_TARGET_MS:.0f} ms with no errors, steady: {verdict}")

    found = await asyncio.to_thread(check)
    print(f"missed runs: {len(sample_ids)} servers stopped, deadline = last success + "
          f"{args.period} s + {args.grace} s")
    offsets = list(found.event_at.values())
    print(f"  (a) state change stored: at - deadline max |{max(map(abs, offsets), default=0):.3f}| s"
          f"; received_at - deadline (detection lateness): {spread(list(found.event_received.values()))}")
    print(f"  (b) incident: created_at - deadline: {spread(list(found.incident_created.values()))}")
    print(f"      incident started_at - deadline: {spread(list(found.incident_started.values()))}")
    print(f"  servers that kept pinging: {found.other_downs} down changes, "
          f"{found.other_incidents} incidents (false alarms)")
    failures = exporter_metric(stack.exporter_port, "servermon_sd_failures_total")
    print(f"  exporter: service discovery fetches failed during the run: {failures:.0f} "
          "(it keeps the last list; each is a 10 s timeout of /api/sd/targets)"
          if failures is not None else "  exporter: no metrics")
    if args.max_rate:
        await ramp(args, pinger)
    await pinger.close()


async def ramp(args: argparse.Namespace, pinger: Pinger) -> None:
    """Higher and higher rates, ``--step`` seconds each, until p99 reaches the target or
    a ping is refused or fails; the per-key limit (30 a minute) bounds it with few keys."""
    rate = args.ramp_from or len(pinger.keys) / args.period
    best = None
    first = 0
    print(f"ramp: {args.step} s per step, x{args.ramp_factor} each step")
    while True:
        per_key = rate * 60 / len(pinger.keys)
        if per_key > 25:
            print(f"  {rate:.0f}/s would ping each of {len(pinger.keys)} keys {per_key:.0f} "
                  "times a minute, near the per-key limit: stopping")
            break
        pinger.add_sources(math.ceil(rate * 60 / PER_SOURCE_PER_MIN))
        pinger.results = Results()
        began = time.monotonic()
        first = await steady(pinger, rate, args.step, first)
        line, p99 = summary_line(f"  {rate:.0f}/s asked", pinger.results,
                                 time.monotonic() - began)
        print(line, flush=True)
        if p99 >= P99_TARGET_MS or bad(pinger.results.status):
            break
        best = rate
        rate *= args.ramp_factor
    print(f"highest rate asked that kept p99 < {P99_TARGET_MS:.0f} ms with no errors: "
          + (f"{best:.0f} pings/s" if best else "none"))


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({model}), {platform.python_implementation()} " \
           f"{platform.python_version()}, load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://127.0.0.1/test_h6",
                        help="PostgreSQL database whose public schema is dropped and rebuilt")
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--period", type=int, default=60, help="heartbeat_period_s")
    parser.add_argument("--grace", type=int, default=60, help="heartbeat_grace_s")
    parser.add_argument("--duration", type=int, default=180,
                        help="seconds of steady pinging at least, once the worker has stored "
                        "the first judgements (longer until the misses are seen)")
    parser.add_argument("--sample", type=int, default=50, help="servers that stop pinging")
    parser.add_argument("--stop-at", type=float, default=30.0,
                        help="seconds into the run after which the sample's next ping is its last")
    parser.add_argument("--sources", type=int, default=19,
                        help="loopback source addresses at least (127.0.0.2 on)")
    parser.add_argument("--max-rate", action="store_true",
                        help="then ramp the rate up until p99 reaches 50 ms or errors appear")
    parser.add_argument("--step", type=int, default=20, help="seconds per ramp step")
    parser.add_argument("--ramp-factor", type=float, default=1.4)
    parser.add_argument("--ramp-from", type=float, default=20.0,
                        help="first rate of the ramp, pings/s (0: the fleet's own rate)")
    parser.add_argument("--workdir", help="keep the stack's logs and data here (an empty "
                        "directory) instead of a temporary one")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        sys.exit("--database-url: PostgreSQL, as production runs it")

    try:
        import uvloop
    except ImportError:
        uvloop = None
    from portal.extensions import db
    from tests.e2e.test_outage_to_phone import base_env
    from tests.support.stack import PRODUCTION, Stack

    # A TERM (from kill, or a time box) unwinds like ^C, so the stack's processes stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.stdout.reconfigure(line_buffering=True)
    print(f"machine: {machine()}")
    began = time.monotonic()
    fresh_schema(args.database_url)
    with (contextlib.nullcontext(args.workdir) if args.workdir
          else tempfile.TemporaryDirectory()) as tmp:
        metrics = Path(tmp) / "metrics"  # as script/server: every gunicorn worker counted
        metrics.mkdir()
        env = {**base_env(args.database_url), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        with Stack(env, Path(tmp), PRODUCTION, own_redis=True, portal_process=True) as stack, \
                stack.app.app_context():
            stack.wait_exporter()
            stack.stop("exporter")
            print(f"stack up in {time.monotonic() - began:.0f} s (gunicorn as "
                  f"portal/gunicorn_conf.py: 2 workers x 32 threads)", flush=True)
            ids, keys, took = register(args.servers, args.period, args.grace)
            print(f"registered {len(ids)} heartbeat servers in {took:.1f} s "
                  f"({len(ids) / took:.0f}/s, create_server, one commit each)", flush=True)
            restart_schedules(stack, ids)
            if uvloop is not None:
                uvloop.run(run(args, stack, ids, keys))
            else:
                asyncio.run(run(args, stack, ids, keys))
            db.session.remove()
        print(f"machine at the end: {machine()}; run took {time.monotonic() - began:.0f} s")
    print(f"finished {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
