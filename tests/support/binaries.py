"""Start the real Prometheus-family binaries from Debian's packages for a test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    """A port no other caller, in this run or a parallel one, is handed for a minute.

    Binding port 0 and closing lets the kernel hand the same port to the next caller (CI
    saw Alertmanager and the exporter of one stack given the same port) or to an outgoing
    connection. So the port is left in TIME_WAIT by a connection accepted on it: the kernel
    then gives it to nobody asking for port 0 for 60 s, while our servers, which all set
    SO_REUSEADDR (Go, asyncio, Redis, PostgreSQL, gunicorn, http.server), can still bind it.
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        address = listener.getsockname()
        with socket.create_connection(address):
            accepted, _ = listener.accept()
            # The side that closes first holds TIME_WAIT: the accepted one, on our port.
            accepted.close()
        return address[1]


def binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or next(
            (f"{folder}/{name}" for folder in ("/usr/bin", "/usr/sbin")
             if Path(f"{folder}/{name}").exists()), None)
        if found:
            return found
    pytest.fail(f"none of {names} is installed; run script/bootstrap")


def wait_http(url: str, process: subprocess.Popen, deadline_s: float = 20) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer")


@contextmanager
def running(args: list[str], ready_url: str, log: Path, *, env: dict[str, str] | None = None,
            cwd: Path | None = None, own_group: bool = False) -> Iterator[subprocess.Popen]:
    """``own_group``: in a process group of its own, so ``crash`` can kill it with its
    children (gunicorn's workers) at once."""
    with log.open("w") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                   start_new_session=own_group)
        try:
            wait_http(ready_url, process)
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """SIGTERM, and SIGKILL if it has not gone within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def crash(process: subprocess.Popen) -> None:
    """Kill a process started with ``own_group`` and every child of it, as a crash or an
    OOM kill would: nothing closes its connections first."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def prometheus(config: Path, workdir: Path, port: int | None = None) -> Iterator[str]:
    """Debian's Prometheus on ``config``, its data and log under ``workdir``, on ``port`` (a
    free one when None); yields its base URL once it is ready."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    args = [binary("prometheus"), f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"]
    with running(args, f"{url}/-/ready", workdir / "prometheus.log"):
        yield url


@contextmanager
def alertmanager(config: Path, workdir: Path) -> Iterator[str]:
    """A real Alertmanager on a free port; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [binary("prometheus-alertmanager", "alertmanager"), f"--config.file={config}",
            f"--storage.path={workdir / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="]
    with running(args, f"{url}/-/ready", workdir / "alertmanager.log"):
        yield url
