"""Benchmark: servermon's exporter against Prometheus's blackbox_exporter, same targets.

N local HTTP targets are served by nginx (one worker, a few loopback ports, N distinct
URL paths answering ``return 200 "ok"``). In one run, at the same per-target interval:

* the exporter (``python -m exporter``, pinned to CPU 0 with taskset) takes the N targets
  from a small SD endpoint in this process, probes them on its own schedule and is
  scraped on /metrics every --scrape-every seconds, as Prometheus would;
* Debian's ``prometheus-blackbox-exporter`` is driven by this process, which calls
  ``/probe?target=...&module=http_2xx`` for each target once per interval, at exactly the
  exporter's phases (its own ``phase()``), so both see the same load at the same moments
  (the driver's CPU is not blackbox's cost).

Each side's CPU is read from /proc/<pid>/stat (utime + stime, all threads) over the
measured window, which starts after one full interval of warm-up (every target probed
at least once). Redis is a private redis-server on a free port, so nothing shared is
touched. nginx, Redis, blackbox and this driver are pinned to the other CPUs.

    .venv/bin/python bench/exporter_vs_blackbox.py --targets 1000 --interval 10 --duration 30
    .venv/bin/python bench/exporter_vs_blackbox.py --targets 10000 --interval 30 --duration 90

Targets (issue): 10,000 targets at a 30 s interval on one core, p99 lateness under 1 s,
and CPU per probe no worse than the blackbox exporter's.

After the figures, ``promtool check metrics`` lints the last scrape and the number of
problems it names is printed (0: clean).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.scheduler import phase  # noqa: E402 - the same schedule for both exporters

NGINX = "/usr/sbin/nginx"
BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SD_TOKEN = "bench-sd-token-0123456789"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PROBE_TIMEOUT_S = 5


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open at once, so none repeats)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def cpu_busy_seconds(cpus: str | None) -> float:
    """Busy time (all processes) of the given CPUs so far, from /proc/stat."""
    wanted = {f"cpu{cpu}" for cpu in (cpus or "").split(",") if cpu.strip().isdigit()}
    busy = 0
    for line in Path("/proc/stat").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] in wanted:
            ticks = [int(value) for value in fields[1:8]]
            busy += sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    return busy / CLOCK_TICK


def pinned(cpus: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus and shutil.which("taskset") else command


class Stack:
    """The processes under test, started in a temp dir and stopped on exit."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="servermon-bench-"))
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], **kwargs) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        self.processes.append(process)
        return process

    def nginx(self, ports: list[int]) -> None:
        listens = "\n".join(f"    listen 127.0.0.1:{port} backlog=4096;" for port in ports)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.tmp / "nginx.conf").write_text(f"""{user}worker_processes 1;
worker_rlimit_nofile 20000;
pid {self.tmp}/nginx.pid;
error_log {self.tmp}/nginx-error.log warn;
daemon off;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  client_body_temp_path {self.tmp}/body;
  proxy_temp_path {self.tmp}/proxy;
  fastcgi_temp_path {self.tmp}/fastcgi;
  uwsgi_temp_path {self.tmp}/uwsgi;
  scgi_temp_path {self.tmp}/scgi;
  server {{
{listens}
    location / {{ return 200 "ok"; }}
  }}
}}
""")
        self.start("nginx", pinned(self.args.others_cpus, [NGINX, "-p", str(self.tmp), "-c",
                                                   str(self.tmp / "nginx.conf"),
                                                   "-e", str(self.tmp / "nginx-error.log")]))

    def redis(self, port: int) -> None:
        self.start("redis", pinned(self.args.others_cpus, [
            REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.tmp)]))

    def blackbox(self, port: int) -> subprocess.Popen:
        config = self.tmp / "blackbox.yml"
        config.write_text(f"""modules:
  http_2xx:
    prober: http
    timeout: {PROBE_TIMEOUT_S}s
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [200]
""")
        return self.start("blackbox", pinned(self.args.others_cpus, [
            BLACKBOX, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error"]))

    def exporter(self, port: int, portal_port: int, redis_port: int) -> subprocess.Popen:
        env = {**os.environ, "PORTAL_URL": f"http://127.0.0.1:{portal_port}",
               "SD_TOKEN": SD_TOKEN, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
               "EXPORTER_PORT": str(port), "EXPORTER_LISTEN": "127.0.0.1",
               "SD_REFRESH_S": "30", "PYTHONPATH": str(ROOT)}
        return self.start("exporter", pinned(self.args.exporter_cpus,
                                 [sys.executable, "-m", "exporter"]), env=env, cwd=ROOT)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"logs kept in {self.tmp}")


def sd_groups(urls: list[str], interval: float) -> list[dict]:
    return [{"targets": [url], "labels": {
        "server_id": str(index + 1), "server": f"bench-{index + 1}", "kind": "http",
        "environment": "bench", "group": f"g{index % 10}",
        "__meta_servermon_interval_s": str(interval),
        "__meta_servermon_timeout_s": str(PROBE_TIMEOUT_S),
        "__meta_servermon_down_after": "1", "__meta_servermon_http_method": "GET",
        "__meta_servermon_http_accepted_statuses": "200",
        "__meta_servermon_http_follow_redirects": "true", "__meta_servermon_tls_verify": "true",
    }} for index, url in enumerate(urls)]


async def serve_sd(groups: list[dict], port: int) -> web.AppRunner:
    body = web.json_response(groups).body

    async def targets(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SD_TOKEN}":
            return web.Response(status=401)
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/sd/targets", targets)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


_SAMPLE = re.compile(r'^(servermon_probes_total|servermon_probe_lateness_seconds_bucket|'
                     r'servermon_targets)(\{[^}]*\})? (\S+)$', re.MULTILINE)


def parse_health(text: str) -> dict[str, float]:
    return {name + (labels or ""): float(value) for name, labels, value in _SAMPLE.findall(text)}


def quantile(q: float, start: dict[str, float], end: dict[str, float]) -> float:
    """histogram_quantile over the window's bucket increases, as PromQL computes it."""
    buckets = []
    for key, value in end.items():
        match = re.match(r'servermon_probe_lateness_seconds_bucket\{le="([^"]+)"\}', key)
        if match:
            buckets.append((float(match.group(1)), value - start.get(key, 0.0)))
    buckets.sort()
    total = buckets[-1][1]
    if total <= 0:
        return float("nan")
    rank, previous_bound, previous_count = q * total, 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return previous_bound
            share = (rank - previous_count) / max(count - previous_count, 1e-9)
            return previous_bound + (bound - previous_bound) * share
        previous_bound, previous_count = bound, count
    return float("nan")


class Scraper:
    """Prometheus's part: scrape the exporter's /metrics every few seconds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.times: list[float] = []
        self.sizes: list[int] = []
        self.last = ""
        self.at = 0.0  # when the last answer arrived: the moment its counters describe

    async def once(self, session: aiohttp.ClientSession) -> str:
        started = time.perf_counter()
        async with session.get(self.url) as response:
            self.at = time.monotonic()
            body = await response.read()
        self.times.append(time.perf_counter() - started)
        self.sizes.append(len(body))
        self.last = body.decode()
        return self.last

    async def run(self, session: aiohttp.ClientSession, every: float) -> None:
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await self.once(session)
            await asyncio.sleep(every)


class Driver:
    """Calls blackbox's /probe for every target once per interval, on spread phases."""

    def __init__(self, base: str, urls: list[str], interval: float) -> None:
        self.base, self.urls, self.interval = base, urls, interval
        self.done = 0
        self.ok = 0
        self.counting = False
        self.tasks: set[asyncio.Task] = set()

    async def probe(self, session: aiohttp.ClientSession, url: str) -> None:
        try:
            async with session.get(f"{self.base}/probe",
                                   params={"target": url, "module": "http_2xx"}) as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return
        if self.counting:
            self.done += 1
            self.ok += "\nprobe_success 1\n" in text

    async def run(self, session: aiohttp.ClientSession) -> None:
        loop = asyncio.get_running_loop()
        order = sorted(range(len(self.urls)), key=lambda index: phase(index + 1, self.interval))
        start = loop.time()
        round_no = 0
        while True:
            base = start + round_no * self.interval
            for index in order:
                delay = base + phase(index + 1, self.interval) - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = loop.create_task(self.probe(session, self.urls[index]))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            round_no += 1


async def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await check():
                return
        await asyncio.sleep(0.2)
    raise SystemExit(f"bench: {what} did not happen within {timeout:.0f}s")


async def measure(args: argparse.Namespace, stack: Stack) -> None:
    sd_port, redis_port, blackbox_port, exporter_port, *ports = free_ports(4 + args.ports)
    urls = [f"http://127.0.0.1:{ports[i % len(ports)]}/t/{i}" for i in range(args.targets)]
    stack.nginx(ports)
    stack.redis(redis_port)
    sd = await serve_sd(sd_groups(urls, args.interval), sd_port)
    blackbox = stack.blackbox(blackbox_port)
    exporter = stack.exporter(exporter_port, sd_port, redis_port)
    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S + 5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        scraper = Scraper(f"http://127.0.0.1:{exporter_port}/metrics")

        async def targets_loaded() -> bool:
            text = await scraper.once(session)
            return parse_health(text).get("servermon_targets") == args.targets

        async def nginx_up() -> bool:
            async with session.get(urls[0]) as response:
                return response.status == 200

        async def blackbox_up() -> bool:
            async with session.get(f"http://127.0.0.1:{blackbox_port}/-/healthy") as response:
                return response.status == 200

        await wait_until(nginx_up, 10, "nginx start")
        await wait_until(blackbox_up, 10, "blackbox start")
        await wait_until(targets_loaded, 60, "the exporter loading its targets")
        driver = Driver(f"http://127.0.0.1:{blackbox_port}", urls, args.interval)
        background = [asyncio.create_task(driver.run(session)),
                      asyncio.create_task(scraper.run(session, args.scrape_every))]
        print(f"warming up for {args.warmup:.0f}s ...", flush=True)
        await asyncio.sleep(args.warmup)

        before = parse_health(await scraper.once(session))
        window = [scraper.at]
        cpu = {"exporter": cpu_seconds(exporter.pid), "blackbox": cpu_seconds(blackbox.pid),
               "exporter_cpus": cpu_busy_seconds(args.exporter_cpus)}
        scraper.times.clear()
        driver.counting = True
        started = time.monotonic()
        print(f"measuring for {args.duration:.0f}s ...", flush=True)
        await asyncio.sleep(args.duration)
        driver.counting = False
        elapsed = time.monotonic() - started
        cpu = {"exporter": cpu_seconds(exporter.pid) - cpu["exporter"],
               "blackbox": cpu_seconds(blackbox.pid) - cpu["blackbox"],
               "exporter_cpus": cpu_busy_seconds(args.exporter_cpus) - cpu["exporter_cpus"]}
        after = parse_health(await scraper.once(session))
        window.append(scraper.at)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, *driver.tasks, return_exceptions=True)
    await sd.cleanup()
    report(args, {"exporter": window[1] - window[0], "blackbox": elapsed}, cpu, before, after,
           driver, scraper)


def report(args, windows, cpu, before, after, driver: Driver, scraper: Scraper) -> None:
    """Print the comparison; each side's rate is over its own measured window."""
    def probes(result: str) -> float:
        key = f'servermon_probes_total{{kind="http",result="{result}"}}'
        return after.get(key, 0.0) - before.get(key, 0.0)

    exporter_probes = probes("success") + probes("failure")
    rows = {
        "servermon exporter": (exporter_probes, probes("success"), cpu["exporter"],
                               windows["exporter"]),
        "blackbox_exporter": (driver.done, driver.ok, cpu["blackbox"], windows["blackbox"]),
    }
    expected = args.targets / args.interval
    print(f"\n{args.targets} targets every {args.interval:g}s (expected {expected:.1f} probes/s "
          f"each), measured {windows['blackbox']:.1f}s after {args.warmup:.0f}s warm-up\n")
    print(f"{'':20} {'probes/s':>9} {'success':>8} {'CPU s':>7} {'CPU %':>6} "
          f"{'CPU s/1000 probes':>18}")
    per_probe = {}
    for name, (done, ok, seconds, elapsed) in rows.items():
        per_probe[name] = seconds / done * 1000 if done else float("nan")
        print(f"{name:20} {done / elapsed:9.1f} {ok / max(done, 1):8.1%} {seconds:7.2f} "
              f"{seconds / elapsed:6.1%} {per_probe[name]:18.3f}")
    ratio = per_probe["servermon exporter"] / (per_probe["blackbox_exporter"] or float("nan"))
    print(f"\nCPU per probe, exporter / blackbox: {ratio:.2f}")
    p50, p99 = quantile(0.5, before, after), quantile(0.99, before, after)
    print(f"exporter lateness: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
          "(servermon_probe_lateness_seconds, interpolated within buckets)")
    others = max(cpu["exporter_cpus"] - cpu["exporter"], 0.0) / windows["blackbox"]
    print(f"other processes on the exporter's CPU {args.exporter_cpus}: {others:.0%} busy; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} CPUs (anything else running delays the exporter's probes)")
    if scraper.times:
        mean_ms = sum(scraper.times) / len(scraper.times) * 1000
        print(f"exporter /metrics: {len(scraper.times)} scrapes, mean {mean_ms:.1f} ms, "
              f"max {max(scraper.times) * 1000:.1f} ms, {scraper.sizes[-1] / 1e6:.1f} MB")
    print(lint(scraper.last))


def lint(text: str) -> str:
    """``promtool check metrics`` on the last scrape (after the measured window, so its
    CPU counts for nobody): the outcome and how many problems it named."""
    if not Path(PROMTOOL).exists():
        return f"promtool check metrics: skipped, {PROMTOOL} is not installed"
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=300)
    problems = [line for line in (checked.stdout + checked.stderr).splitlines() if line.strip()]
    outcome = "clean" if checked.returncode == 0 and not problems else \
        f"exit {checked.returncode}"
    shown = "".join(f"\n  {line}" for line in problems[:10])
    return (f"promtool check metrics on the last scrape ({len(text) / 1e6:.1f} MB): {outcome}, "
            f"{len(problems)} lint problems{shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between probes")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, help="seconds before measuring (one interval)")
    parser.add_argument("--scrape-every", type=float, default=5.0,
                        help="seconds between scrapes of the exporter's /metrics")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and logs")
    parser.add_argument("--ports", type=int, default=8, help="nginx loopback ports")
    parser.add_argument("--exporter-cpus", default="0", help="taskset list for the exporter")
    parser.add_argument("--others-cpus", default="1",
                        help="taskset list for nginx, Redis, blackbox and this driver")
    args = parser.parse_args()
    args.warmup = args.interval if args.warmup is None else args.warmup
    for binary in (NGINX, BLACKBOX, REDIS_SERVER):
        if not Path(binary).exists():
            raise SystemExit(f"bench: {binary} is not installed")
    if args.others_cpus and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError, ValueError):
            os.sched_setaffinity(0, {int(cpu) for cpu in args.others_cpus.split(",")})
    stack = Stack(args)
    try:
        asyncio.run(measure(args, stack))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
