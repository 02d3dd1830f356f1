"""The whole stack on one machine, as script/server runs it, for end-to-end tests and the
alert-latency benchmark: the portal (served for real), the worker and the exporter as
processes, Debian's Prometheus and Alertmanager with the repository's rendered configs,
an SMTP sink and a stand-in for Twilio's REST API. Timings are configuration."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import redis as redis_client
import requests
from flask import Flask

from portal import create_app
from provisioning.render import render
from tests.support.binaries import binary, free_port, wait_http
from tests.support.browser import GUNICORN_CONF
from tests.support.live_server import serving
from tests.support.standins import SmtpSink, TwilioStandIn, smtp_sink

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TWILIO_SID = "AC" + "1" * 32


@dataclass(frozen=True)
class Timings:
    """None keeps the committed value (provisioning/ and alert_rules/ as reviewed)."""

    scrape_interval: str | None = None
    evaluation_interval: str | None = None
    server_down_for: str | None = None
    group_wait: str | None = None
    group_interval: str | None = None


SHORT = Timings("1s", "1s", "2s", "1s", "2s")
PRODUCTION = Timings()


class Stack:
    """``own_redis``: a redis-server of its own (no persistence), which ``restart_redis``
    can kill and bring back empty; else the shared one at REDIS_URL. ``portal_process``:
    the portal as script/server runs it (gunicorn, two workers, on a migrated database),
    not served from this process, where it would share one interpreter lock with the
    test's stand-ins and polling: for benchmarks of what the portal keeps up with."""

    def __init__(self, env: dict[str, str], workdir: Path, timings: Timings, *,
                 own_redis: bool = False, portal_process: bool = False) -> None:
        self.own_redis = own_redis
        self.portal_process = portal_process
        self.redis_port = free_port() if own_redis else None
        if own_redis:
            env = {**env, "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0"}
        self.base_env = env
        self.workdir = workdir
        self.timings = timings
        self.exits = ExitStack()
        self.portal_port = free_port()
        self.exporter_port = free_port()
        self.prometheus_port = free_port()
        self.am_port = free_port()
        self.portal_url = f"http://127.0.0.1:{self.portal_port}"
        self.prometheus_url = f"http://127.0.0.1:{self.prometheus_port}"
        self.mail: list = []
        self.twilio: TwilioStandIn | None = None
        self.app: Flask | None = None
        self._portal = None
        self.relay = SmtpSink()  # stop() and start() it for a mail relay outage
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[list[str], dict[str, str] | None, str | None]] = {}

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.base_env,
                "PORTAL_URL": self.portal_url, "PORTAL_PORT": str(self.portal_port),
                "EXPORTER_PORT": str(self.exporter_port), "EXPORTER_LISTEN": "127.0.0.1",
                "PROMETHEUS_URL": self.prometheus_url,
                "ALERTMANAGER_URL": f"http://127.0.0.1:{self.am_port}",
                "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.smtp_port),
                "SMTP_FROM": "servermon@bank.example",
                "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": "twilio-token-0123",
                "TWILIO_FROM": "+15005550006", "TWILIO_BASE_URL": self.twilio.url}

    def _process(self, name: str, args: list[str], env: dict[str, str] | None,
                 ready_url: str | None = None) -> None:
        """Start a component as a process that ``stop``, ``kill`` and ``start`` can restart;
        the stack stops whatever runs at its exit."""
        first = name not in self.commands
        self.commands[name] = (args, env, ready_url)
        with (self.workdir / f"{name}.log").open("a") as log:
            # Its own process group: dramatiq forks worker processes, which a signal to the
            # parent alone would leave running (and consuming) after it.
            process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        if ready_url:
            wait_http(ready_url, process)
        if first:
            self.exits.callback(lambda: self.stop(name))

    def stop(self, name: str, timeout: float = 15) -> None:
        """SIGTERM and its grace, then SIGKILL to whatever of its group is left."""
        process = self.processes.get(name)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout)
        self._kill_group(process)

    @staticmethod
    def _kill_group(process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def kill(self, name: str) -> None:
        """SIGKILL to the whole group: no shutdown hook runs, as when the machine or the OOM
        killer takes it."""
        self._kill_group(self.processes[name])

    def start(self, name: str) -> None:
        args, env, ready_url = self.commands[name]
        self._process(name, args, env, ready_url)

    def restart_alertmanager(self, *, wipe: bool) -> None:
        """Stop Alertmanager and start it again, with its data directory (silences, the
        notification log, the alerts it knew) wiped when asked."""
        self.stop("alertmanager")
        if wipe:
            shutil.rmtree(self.workdir / "alertmanager", ignore_errors=True)
        self.start("alertmanager")

    def _start_redis(self) -> None:
        self._process("redis", [binary("redis-server"), "--port", str(self.redis_port),
                                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(self.workdir)], None)
        client = redis_client.Redis(port=self.redis_port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis_client.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def restart_redis(self, down_s: float = 0) -> None:
        """SIGKILL Redis, keep it away ``down_s``, bring it back with nothing in it."""
        self.kill("redis")
        time.sleep(down_s)
        self._start_redis()

    def stop_portal(self) -> None:
        """The portal stops answering (its port closes), as when its process dies."""
        if self.portal_process:
            self.stop("portal")
            return
        self._portal.__exit__(None, None, None)
        self._portal = None

    def start_portal(self) -> None:
        if self.portal_process:  # as script/server runs it
            self._process("portal", [str(BIN / "gunicorn"), "-c", GUNICORN_CONF,
                                     "portal:create_app()"],
                          self.environment(), f"{self.portal_url}/healthz")
            return
        self._portal = serving(self.app, self.portal_port)
        self._portal.__enter__()

    def __enter__(self) -> Stack:
        if self.own_redis:
            self._start_redis()
        self.smtp_port, self.mail = self.exits.enter_context(smtp_sink(self.relay))
        self.twilio = self.exits.enter_context(TwilioStandIn())
        env = self.environment()
        from portal.config import Config

        self.app = create_app(Config.from_env(env))
        self.start_portal()
        if not self.portal_process:
            self.exits.callback(lambda: self._portal and self.stop_portal())
        token = self.workdir / "webhook_token"
        token.write_text(env["ALERTMANAGER_WEBHOOK_TOKEN"] + "\n")
        t = self.timings
        rendered = render(self.workdir / "provisioning",
                          exporter=f"127.0.0.1:{self.exporter_port}",
                          portal=f"127.0.0.1:{self.portal_port}",
                          alertmanager=f"127.0.0.1:{self.am_port}", webhook_token_file=token,
                          prometheus=f"127.0.0.1:{self.prometheus_port}",
                          smtp_smarthost=f"127.0.0.1:{self.smtp_port}",
                          admin_email="servermon-admins@bank.example",
                          portal_url=self.portal_url,
                          server_down_for=t.server_down_for, group_wait=t.group_wait,
                          group_interval=t.group_interval, scrape_interval=t.scrape_interval,
                          evaluation_interval=t.evaluation_interval)
        self._process("alertmanager", [
            binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={rendered.alertmanager}",
            f"--storage.path={self.workdir / 'alertmanager'}",
            f"--web.listen-address=127.0.0.1:{self.am_port}", "--cluster.listen-address="],
            None, f"http://127.0.0.1:{self.am_port}/-/ready")
        self._process("prometheus", [
            binary("prometheus"), f"--config.file={rendered.prometheus}",
            f"--storage.tsdb.path={self.workdir / 'prometheus'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}"],
            None, f"{self.prometheus_url}/-/ready")
        self._process("worker", [str(BIN / "dramatiq"), "portal.jobs.worker", "--processes", "1",
                                 "--threads", "2"], env)
        self._process("exporter", [sys.executable, "-m", "exporter"], env)
        return self

    def wait_exporter(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.exporter_port}/healthz",
                                timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise TimeoutError(f"exporter did not start\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}"
                         for path in sorted(self.workdir.glob("*.log")))

    def __exit__(self, *exc: object) -> None:
        self.exits.close()

